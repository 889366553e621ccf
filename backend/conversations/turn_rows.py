"""The rows a chat turn reads and writes: its messages and the conversation's lease, seq and state,
in prepared Core statements (the ORM's unit of work cost a turn more than the writes themselves)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, ConversationMessage
from backend.conversations.service import StoredMessage
from backend.core.context import TenantContext
from backend.core.errors import NotFound

HISTORY_FOR_MODEL = 20

# The statements of every turn, built once: building them cost more than running them.
LATEST_PATIENT_MESSAGES = (
    select(ConversationMessage.created_at)
    .where(
        ConversationMessage.conversation_id == bindparam("conversation_id"),
        ConversationMessage.role == "patient",
    )
    .order_by(ConversationMessage.seq.desc())
)
BY_CLIENT_ID = select(ConversationMessage).where(
    ConversationMessage.conversation_id == bindparam("conversation_id"),
    ConversationMessage.client_message_id == bindparam("client_message_id"),
)
HISTORY = (
    select(ConversationMessage.role, ConversationMessage.body)
    .where(
        ConversationMessage.conversation_id == bindparam("conversation_id"),
        ConversationMessage.seq < bindparam("seq"),
    )
    .order_by(ConversationMessage.seq.desc())
    .limit(HISTORY_FOR_MODEL)
)
_MESSAGES = ConversationMessage.__table__
_STORE_MESSAGES = insert(_MESSAGES).returning(_MESSAGES.c.created_at, sort_by_parameter_order=True)
_MOVE_ON = (
    update(Conversation.__table__)
    .where(Conversation.__table__.c.id == bindparam("conversation_id"))
    .values(last_seq=bindparam("new_last_seq"), turn_lease_until=bindparam("new_lease"))
)
_MOVE_ON_WITH_STATE = _MOVE_ON.values(state=bindparam("new_state"))
DISCLOSED = (
    update(Conversation.__table__)
    .where(Conversation.__table__.c.id == bindparam("conversation_id"))
    .values(disclosed_at=bindparam("at"))
)
_LOCKED = (
    select(Conversation)
    .where(Conversation.id == bindparam("conversation_id"), Conversation.tenant_id == bindparam("tenant_id"))
    .with_for_update()
)


async def append_messages(
    session: AsyncSession,
    tenant: TenantContext,
    conversation: Conversation,
    messages: list[StoredMessage],
    *,
    lease: datetime | None,
    state: dict[str, Any] | None = None,
) -> list[StoredMessage]:
    """Store `messages` (numbered from the conversation's last seq on) and move the conversation on,
    in Core statements: the ORM's unit of work cost a chat turn more than the writes themselves."""
    last_seq = conversation.last_seq + len(messages)
    moved = {"conversation_id": conversation.id, "new_last_seq": last_seq, "new_lease": lease}
    if state is None:
        await session.execute(_MOVE_ON, moved)
    else:
        await session.execute(_MOVE_ON_WITH_STATE, {**moved, "new_state": state})
    if not messages:
        return []
    rows = [
        {
            "conversation_id": conversation.id,
            "tenant_id": tenant.id,
            "seq": m.seq,
            "role": m.role,
            "body": m.text,
            "payload": m.payload,
            "client_message_id": m.client_message_id,
        }
        for m in messages
    ]
    stored = await session.execute(_STORE_MESSAGES, rows)
    return [
        replace(m, created_at=created_at) for m, created_at in zip(messages, stored.scalars(), strict=True)
    ]


async def locked_conversation(
    session: AsyncSession, tenant: TenantContext, conversation_id: uuid.UUID
) -> Conversation:
    locked = await session.execute(_LOCKED, {"conversation_id": conversation_id, "tenant_id": tenant.id})
    conversation = locked.scalar_one_or_none()
    if conversation is None:
        raise NotFound("conversation not found")
    return conversation


async def answer_to(session: AsyncSession, message: ConversationMessage) -> list[StoredMessage]:
    """The stored message and the assistant's replies that followed it, up to the next patient message."""
    rows = await session.execute(
        select(ConversationMessage)
        .where(
            ConversationMessage.conversation_id == message.conversation_id,
            ConversationMessage.seq >= message.seq,
        )
        .order_by(ConversationMessage.seq)
        .limit(50)
    )
    answer = [StoredMessage.of(message)]
    for row in rows.scalars():
        if row.seq == message.seq:
            continue
        if row.role == "patient":
            break
        answer.append(StoredMessage.of(row))
    return answer
