"""Conversations as stored: the resume token (hashed), the agent's state, and every message
with its sequence number."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, ConversationMessage
from backend.core import audit, events
from backend.core.context import Caller, TenantContext
from backend.core.errors import NotFound
from backend.core.event_catalogue import ConversationNeedsHuman, ConversationStarted
from policy.facts import Decision


@dataclass(frozen=True)
class StoredMessage:
    seq: int
    role: str
    text: str
    payload: dict[str, Any]
    created_at: datetime
    client_message_id: str | None = None

    @classmethod
    def of(cls, row: ConversationMessage) -> StoredMessage:
        return cls(row.seq, row.role, row.body, row.payload, row.created_at, row.client_message_id)

    def event(self) -> dict[str, Any]:
        """The message as clients receive it (Socket.IO event and REST body alike)."""
        return {
            "seq": self.seq,
            "role": self.role,
            "text": self.text,
            "quick_replies": self.payload.get("quick_replies", []),
            "card": self.payload.get("card"),
            "client_message_id": self.client_message_id,
            "at": self.created_at.isoformat(),
            # A member of staff's first name, on what they wrote themselves.
            "author": self.payload.get("author"),
        }


async def record_said(
    session: AsyncSession,
    conversation_id: uuid.UUID,
    replies: list[StoredMessage],
    said: str,
    options: list[dict[str, Any]],
) -> None:
    """A phone turn's replies as the caller heard them: one line, the words said, with the options
    read out; the transcript keeps nothing the caller was not told (a chip, a sentence for a screen,
    a reply a transfer replaced)."""
    if not replies:
        return
    first, *rest = replies
    mine = (ConversationMessage.conversation_id == conversation_id,)
    await session.execute(
        update(ConversationMessage)
        .where(*mine, ConversationMessage.seq == first.seq)
        .values(body=said, payload={"quick_replies": options, "card": None})
    )
    if rest:
        await session.execute(
            delete(ConversationMessage).where(*mine, ConversationMessage.seq.in_([r.seq for r in rest]))
        )


async def append(
    session: AsyncSession, conversation: Conversation, role: str, text: str, **payload: str
) -> StoredMessage:
    """A message added outside a turn (a person's reply, a notice), numbered after the last."""
    conversation.last_seq += 1
    row = ConversationMessage(
        conversation_id=conversation.id,
        tenant_id=conversation.tenant_id,
        seq=conversation.last_seq,
        role=role,
        body=text,
        payload=payload,
    )
    session.add(row)
    await session.flush()
    return StoredMessage.of(row)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(
    session: AsyncSession,
    tenant: TenantContext,
    channel: str,
    origin: str | None = None,
    state: dict[str, Any] | None = None,
) -> tuple[Conversation, str]:
    """A new conversation and its resume token (shown to the client once, stored hashed); `state`
    is what it knows from the start (a reminder's link: the patient and the booking)."""
    token = "cv_" + secrets.token_urlsafe(32)
    conversation = Conversation(
        tenant_id=tenant.id, channel=channel, token_hash=hash_token(token), origin=origin, state=state or {}
    )
    session.add(conversation)
    await session.flush()
    events.record(session, tenant.id, ConversationStarted(conversation_id=conversation.id, channel=channel))
    return conversation, token


# Every inbound text runs it: built once, as building it cost more than running it.
_SMS_THREAD = select(Conversation).where(
    Conversation.tenant_id == bindparam("tenant_id"),
    Conversation.channel == "sms",
    Conversation.practice_number == bindparam("practice_number"),
    Conversation.patient_phone == bindparam("patient_phone"),
)


async def phone_thread(
    session: AsyncSession, tenant: TenantContext, channel: str, practice_number: str, patient_phone: str
) -> Conversation:
    """The conversation of a text or a call. SMS: one thread per (practice number, patient phone),
    found again on every text; voice: a new conversation per call. The patient's phone is already
    known, so the receptionist never asks for it."""
    if channel == "sms":
        thread = {"tenant_id": tenant.id, "practice_number": practice_number, "patient_phone": patient_phone}
        found = await session.scalar(_SMS_THREAD, thread)
        if found is not None:
            return found
    values = {
        "id": uuid.uuid4(),
        "tenant_id": tenant.id,
        "channel": channel,
        "state": {"phone": patient_phone},
        "practice_number": practice_number,
        "patient_phone": patient_phone,
    }
    statement = insert(Conversation).values(**values)
    if channel == "sms":
        # Two texts of a new patient arriving together both try to open the thread; one does.
        statement = statement.on_conflict_do_nothing(
            index_elements=[Conversation.tenant_id, Conversation.practice_number, Conversation.patient_phone],
            index_where=text("channel = 'sms'"),  # the partial index's own predicate, verbatim
        )
    if (await session.execute(statement.returning(Conversation.id))).first() is not None:
        events.record(session, tenant.id, ConversationStarted(conversation_id=values["id"], channel=channel))
    if channel == "sms":
        return await phone_thread(session, tenant, channel, practice_number, patient_phone)
    return await session.get_one(Conversation, values["id"])


async def find_by_token(session: AsyncSession, tenant: TenantContext, token: str) -> Conversation | None:
    return (
        await session.execute(
            select(Conversation).where(
                Conversation.tenant_id == tenant.id, Conversation.token_hash == hash_token(token)
            )
        )
    ).scalar_one_or_none()


async def messages_after(
    session: AsyncSession, tenant: TenantContext, conversation_id: uuid.UUID, after_seq: int, limit: int = 500
) -> list[StoredMessage]:
    rows = await session.execute(
        select(ConversationMessage)
        .where(
            ConversationMessage.tenant_id == tenant.id,
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.seq > after_seq,
        )
        .order_by(ConversationMessage.seq)
        .limit(limit)
    )
    return [StoredMessage.of(row) for row in rows.scalars()]


async def flag_for_human(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, reason: str
) -> None:
    flagged = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.tenant_id == caller.tenant.id,
            Conversation.status != "needs_human",
        )
        .values(status="needs_human")
        .returning(Conversation.channel)
    )
    channel = flagged.scalar_one_or_none()
    if channel is not None:  # asking again while already waiting for a person is not news
        events.emit(session, caller, ConversationNeedsHuman(conversation_id=conversation_id, channel=channel))
    audit.record(
        session, caller, "conversation.human_requested", "conversation", conversation_id, {"reason": reason}
    )


async def to_staff(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, refused: Decision
) -> None:
    """A message on a channel the clinic has switched off: no automated answer, a person is asked
    for in the inbox, and the refusal is audited with its rule."""
    audit.record(
        session,
        caller,
        "policy.denied",
        "conversation",
        conversation_id,
        {"rule": refused.rule, "policy_reason": refused.reason},
    )
    await flag_for_human(session, caller, conversation_id, refused.reason)


async def put_through(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, *, to_staff: bool
) -> None:
    """A call put through by the receptionist. To the clinic's staff: a person has the patient now,
    so the conversation no longer waits for one. To the emergency number: it does, so the clinic
    follows up on the call."""
    if not to_staff:
        await flag_for_human(session, caller, conversation_id, "call put through to the emergency number")
        return
    await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.tenant_id == caller.tenant.id,
            Conversation.status == "needs_human",
        )
        .values(status="open")
    )
    audit.record(
        session, caller, "conversation.put_through", "conversation", conversation_id, {"to": "staff"}
    )


async def get(session: AsyncSession, tenant: TenantContext, conversation_id: uuid.UUID) -> Conversation:
    conversation = await find(session, tenant, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


async def by_id(
    session: AsyncSession, conversation_id: uuid.UUID | None, *, lock: bool = False
) -> Conversation:
    """A conversation whose id a channel already holds (a call, a text thread)."""
    return await session.get_one(Conversation, conversation_id, with_for_update=lock)


# Built once: every turn runs it, and building it cost more than running it.
_OF_TENANT = select(Conversation).where(
    Conversation.tenant_id == bindparam("tenant_id"), Conversation.id == bindparam("conversation_id")
)


async def find(
    session: AsyncSession, tenant: TenantContext, conversation_id: uuid.UUID
) -> Conversation | None:
    found = await session.execute(_OF_TENANT, {"tenant_id": tenant.id, "conversation_id": conversation_id})
    return found.scalar_one_or_none()
