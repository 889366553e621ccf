"""Web chat sessions: `channels.webchat.ChatBackend` for the Socket.IO server and the REST fallback.

A session is opened with a publishable key (the widget on the tenant's site) or with a handoff
link's token (the widget on our own handoff page, continuing a phone conversation). A conversation
that began on the phone keeps the phone as its identity when it continues here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent import dialogue
from agent.loop import Inbound
from backend.conversations import handoff
from backend.conversations import service as conversations
from backend.conversations.handoff import HandoffInvalid, HandoffLinks
from backend.conversations.turns import Turns
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import AppError, NotFound, RateLimited
from backend.tenants import api_keys
from backend.tenants import service as tenants
from backend.webchat.conversation_starts import CeilingReached, ConversationStarts
from channels.webchat import ChatInputError, ChatRefused, ChatSession
from policy.engine import PHONE_CHANNELS, Decision
from policy.switches import channel_decision

if TYPE_CHECKING:
    from backend.conversations.models import Conversation

log = logging.getLogger(__name__)


class ChatSwitchedOff(ChatRefused):
    """The clinic has switched its web chat off: the visitor is told how else to reach it."""

    def __init__(self, tenant: TenantContext, decision: Decision) -> None:
        phone = tenant.settings.staff_phone
        how = f"please call the clinic at {phone}" if phone else "please contact the clinic directly"
        super().__init__(f"the clinic's chat is switched off; {how}", code="CHAT_SWITCHED_OFF")
        self.tenant = tenant
        self.decision = decision

    async def audit(self, session: AsyncSession) -> None:
        caller = Caller(self.tenant, actor="patient:web", correlation_id=uuid.uuid4().hex)
        details = {"rule": self.decision.rule, "policy_reason": self.decision.reason}
        audit.record(session, caller, "policy.denied", "web_chat", self.tenant.id, details)


class WebChat:
    def __init__(
        self,
        db: Database,
        turns: Turns,
        clock: Callable[[], datetime],
        links: HandoffLinks,
        starts: ConversationStarts | None = None,
    ) -> None:
        self.db = db
        self.turns = turns
        self.clock = clock
        self.links = links
        # Counts a new conversation against its publishable key's limits (RateLimited when over).
        self.starts = starts

    async def open_session(
        self, key: str, origin: str, token: str | None, address: str, *, resume_only: bool = False
    ) -> ChatSession:
        """The conversation `token` names, or a new one (NotFound instead with `resume_only`), for a
        visitor at `address`."""
        now = self.clock()

        async def work(session: AsyncSession) -> ChatSession:
            if handoff.is_handoff_token(key):
                return await self._open_handoff(session, key, origin, now)
            found = await api_keys.authenticate(session, key, now)
            if found is None:
                raise ChatRefused("unknown or revoked widget key", code="UNAUTHORIZED")
            api_key, tenant = found
            if api_key.kind != "publishable":
                raise ChatRefused(
                    "the widget needs a publishable key (pk_live_…); never put a secret key on a web page"
                )
            if not origin:
                raise ChatRefused("the page's Origin header is missing")
            if origin.lower() not in api_key.allowed_origins:
                raise ChatRefused(f"origin {origin} is not allowed for this widget key")
            context = TenantContext.of(tenant)
            switch = channel_decision("web", context.switches)
            if not switch.allowed:
                raise ChatSwitchedOff(context, switch)
            conversation = await conversations.find_by_token(session, context, token) if token else None
            if conversation is not None:
                return ChatSession(str(tenant.id), str(conversation.id), token or "", str(api_key.id))
            if resume_only:
                raise NotFound("unknown conversation token; open a new session")
            if self.starts is not None:
                await self.starts.admit(tenant.id, api_key.id, address)
            conversation, new_token = await conversations.start(session, context, "web", origin.lower())
            return ChatSession(str(tenant.id), str(conversation.id), new_token, str(api_key.id))

        try:
            return await self.db.transaction(work)
        except RateLimited as limited:
            if isinstance(limited, CeilingReached) and self.starts is not None:
                await self.starts.tell_clinic(limited)
            raise ChatRefused(
                limited.message, code=limited.code, retry_after=limited.retry_after
            ) from limited
        except ChatSwitchedOff as off:
            await self.db.transaction(off.audit)
            raise
        except ChatRefused as refusal:
            log.info("web chat refused: %s", refusal)
            raise

    async def _open_handoff(
        self, session: AsyncSession, token: str, origin: str, now: datetime
    ) -> ChatSession:
        try:
            grant = self.links.read(token, now)
        except HandoffInvalid as invalid:
            raise ChatRefused(str(invalid)) from None
        if origin.lower() != self.links.origin:
            raise ChatRefused("a conversation link opens only on its own page")
        tenant = await tenants.get_context(session, grant.tenant_id)
        conversation = await conversations.get(session, tenant, grant.conversation_id)
        return ChatSession(str(tenant.id), str(conversation.id), "")

    async def history(self, chat: ChatSession, after_seq: int) -> list[dict[str, Any]]:
        async def work(session: AsyncSession) -> list[dict[str, Any]]:
            tenant = await self._tenant(session, chat)
            messages = await conversations.messages_after(
                session, tenant, uuid.UUID(chat.conversation_id), after_seq
            )
            return [m.event() for m in messages]

        return await self.db.transaction(work)

    async def greeting(self, chat: ChatSession) -> dict[str, Any]:
        tenant = await self.db.transaction(lambda session: self._tenant(session, chat))
        welcome = dialogue.welcome(tenant.switches, tenant.settings.staff_phone)
        return {"text": welcome.text, "quick_replies": welcome.payload()["quick_replies"]}

    def admit(self, chat: ChatSession) -> None:
        try:
            self.turns.gate.refuse_now(uuid.UUID(chat.conversation_id))
        except RateLimited as refused:
            raise ChatInputError(refused.code, refused.message, refused.retry_after) from None

    async def send(
        self, chat: ChatSession, text: str, choice: str | None, client_message_id: str | None
    ) -> list[dict[str, Any]]:
        try:
            return await self.post(chat, text, choice, client_message_id)
        except AppError as error:
            raise ChatInputError(
                error.code, error.message, error.details.get("retry_after_seconds")
            ) from error

    async def post(
        self, chat: ChatSession, text: str, choice: str | None, client_message_id: str | None
    ) -> list[dict[str, Any]]:
        """`send` for HTTP callers: problems stay AppErrors, so they keep their status codes."""
        self.turns.gate.refuse_now(uuid.UUID(chat.conversation_id))
        tenant, conversation = await self.db.transaction(lambda session: self._conversation(session, chat))
        caller = Caller(tenant, actor=f"conversation:{chat.conversation_id}", correlation_id=uuid.uuid4().hex)
        # Continued from a call or a text: the patient is still who that phone says they are.
        phone = conversation.patient_phone if conversation.channel in PHONE_CHANNELS else None
        answered = await self.turns.answer(
            caller,
            conversation.id,
            Inbound(text=text, choice=choice),
            channel=conversation.channel if phone else "web",
            now=self.clock(),
            client_message_id=client_message_id,
            channel_phone=phone,
        )
        return [m.event() for m in answered.messages]

    async def _tenant(self, session: AsyncSession, chat: ChatSession) -> TenantContext:
        return await tenants.get_context(session, uuid.UUID(chat.tenant_id))

    async def _conversation(
        self, session: AsyncSession, chat: ChatSession
    ) -> tuple[TenantContext, Conversation]:
        tenant = await self._tenant(session, chat)
        return tenant, await conversations.get(session, tenant, uuid.UUID(chat.conversation_id))
