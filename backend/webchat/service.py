"""Web chat sessions: `channels.webchat.ChatBackend` for the Socket.IO server and the REST fallback.

A session is opened with a publishable key (the widget on the tenant's site), with a handoff
link's token (the widget on our own handoff page, continuing a phone conversation), or with a
reminder's reschedule link (the widget on our own link page, about that booking, its patient
identified by the link). A conversation that began on the phone keeps the phone as its identity
when it continues here. A patient who is identified and was reminded of a visit has their replies
read as answers to the reminder, as a text answering it would be.
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
from agent.state import ConversationState
from backend.conversations import handoff
from backend.conversations import service as conversations
from backend.conversations.handoff import HandoffInvalid, HandoffLinks
from backend.conversations.reminder_replies import Reminded, ReminderReplies, last_reminded
from backend.conversations.turns import Turns
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import AppError, NotFound, RateLimited
from backend.messaging import notifications
from backend.scheduling import reminder_links
from backend.scheduling.reminder_links import LinkInvalid, ReminderLinks
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
        reminder_links: ReminderLinks | None = None,
    ) -> None:
        self.db = db
        self.turns = turns
        self.clock = clock
        self.links = links
        # Counts a new conversation against its publishable key's limits (RateLimited when over).
        self.starts = starts
        self.reminder_replies = ReminderReplies(db, "web")
        self.reminder_links = reminder_links

    async def open_session(
        self, key: str, origin: str, token: str | None, address: str, *, resume_only: bool = False
    ) -> ChatSession:
        """The conversation `token` names, or a new one (NotFound instead with `resume_only`), for a
        visitor at `address`."""
        now = self.clock()

        async def work(session: AsyncSession) -> ChatSession:
            if handoff.is_handoff_token(key):
                return await self._open_handoff(session, key, origin, now)
            if reminder_links.is_widget_key(key):
                return await self._open_reschedule(session, key, origin, token, now)
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

    async def _open_reschedule(
        self, session: AsyncSession, key: str, origin: str, token: str | None, now: datetime
    ) -> ChatSession:
        """The conversation a reminder's reschedule link opens: the one this browser began from it
        before (its resume token), else a new one that knows the patient and the booking."""
        try:
            if self.reminder_links is None:
                raise LinkInvalid("this server issues no reminder links")
            grant = self.reminder_links.read_widget_key(key)
        except LinkInvalid as invalid:
            raise ChatRefused(str(invalid)) from None
        if origin.lower() != self.links.origin:
            raise ChatRefused("a reminder's link opens only on its own page")
        tenant = await tenants.get_context(session, grant.tenant_id)
        try:
            appointment = await reminder_links.appointment_for(session, tenant, grant, now)
        except LinkInvalid as invalid:
            raise ChatRefused(str(invalid)) from None
        earlier = await conversations.find_by_token(session, tenant, token) if token else None
        if earlier is not None and (earlier.state or {}).get("reference") == appointment.reference:
            return ChatSession(str(tenant.id), str(earlier.id), token or "")
        known = ConversationState(
            verified_customer_id=str(appointment.customer_id),
            reference=appointment.reference,
            name=appointment.customer.name,
        )
        conversation, new_token = await conversations.start(
            session, tenant, "web", origin.lower(), known.model_dump(mode="json")
        )
        first_name = appointment.customer.name.split()[0]
        await conversations.append(
            session,
            conversation,
            "assistant",
            f"Hello {first_name}! Your {appointment.service.name} with {appointment.provider.name} is on "
            f"{notifications.when_label(tenant, appointment.starts_at)}. Which day and time would suit you "
            "better?",
        )
        return ChatSession(str(tenant.id), str(conversation.id), new_token)

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
        now = self.clock()
        tenant, conversation, state, reminded = await self.db.transaction(
            lambda session: self._conversation(session, chat, now)
        )
        caller = Caller(tenant, actor=f"conversation:{chat.conversation_id}", correlation_id=uuid.uuid4().hex)
        # Continued from a call or a text: the patient is still who that phone says they are.
        phone = conversation.patient_phone if conversation.channel in PHONE_CHANNELS else None
        inbound, responder, prelude = Inbound(text=text, choice=choice), None, None
        # A reply to a reminder of this (identified) patient's, read like a text answering it; a
        # quick reply of another question stays the receptionist's.
        if reminded is not None and state.task is None and (choice or "reminder:").startswith("reminder:"):
            chosen = self.reminder_replies.handle(caller, reminded, text, state, now)
            inbound, responder, prelude = chosen.inbound, chosen.responder, chosen.prelude
        answered = await self.turns.answer(
            caller,
            conversation.id,
            inbound,
            channel=conversation.channel if phone else "web",
            now=now,
            client_message_id=client_message_id,
            channel_phone=phone,
            responder=responder,
            prelude=prelude,
        )
        return [m.event() for m in answered.messages]

    async def _tenant(self, session: AsyncSession, chat: ChatSession) -> TenantContext:
        return await tenants.get_context(session, uuid.UUID(chat.tenant_id))

    async def _conversation(
        self, session: AsyncSession, chat: ChatSession, now: datetime
    ) -> tuple[TenantContext, Conversation, ConversationState, Reminded | None]:
        """The conversation, its state, and the reminder its patient may be answering: theirs by
        the phone the conversation began on, or by the customer the patient proved to be."""
        tenant = await self._tenant(session, chat)
        conversation = await conversations.get(session, tenant, uuid.UUID(chat.conversation_id))
        state = ConversationState.model_validate(conversation.state or {})
        if conversation.channel in PHONE_CHANNELS and conversation.patient_phone:
            reminded = await last_reminded(session, tenant, now, phone=conversation.patient_phone)
        elif state.verified_customer_id:
            customer_id = uuid.UUID(state.verified_customer_id)
            reminded = await last_reminded(session, tenant, now, customer_id=customer_id)
        else:
            reminded = None
        return tenant, conversation, state, reminded
