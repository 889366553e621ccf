"""A patient's conversations, found by the contact details they gave or texted and called from,
in an export; on erasure every message body, the gathered state and the number are removed (the
conversation stays, empty, so counts and the inbox's history add up). Past the clinic's retention
periods, message bodies and idle conversations' state go the same way, a batch at a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, ConversationMessage
from backend.core.privacy import ERASED, EXPIRED, REMOVED, Person


async def conversations_of(session: AsyncSession, person: Person) -> list[Conversation]:
    if not person.contacts:
        return []
    matches = [
        Conversation.patient_phone.in_(person.phones),
        Conversation.state["phone"].astext.in_(person.phones),
    ]
    if person.emails:
        matches.append(Conversation.state["email"].astext.in_(person.emails))
    rows = await session.scalars(
        select(Conversation)
        .where(Conversation.tenant_id == person.tenant_id, or_(*matches))
        .order_by(Conversation.created_at.desc())
    )
    return list(rows)


async def held_about(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    found = await conversations_of(session, person)
    messages = await session.execute(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id.in_([c.id for c in found]))
        .order_by(ConversationMessage.conversation_id, ConversationMessage.seq)
    )
    by_conversation: dict[uuid.UUID, list[dict[str, Any]]] = {c.id: [] for c in found}
    for message in messages.scalars():
        by_conversation[message.conversation_id].append(
            {"seq": message.seq, "role": message.role, "text": message.body, "at": message.created_at}
        )
    return [
        {
            "id": str(c.id),
            "channel": c.channel,
            "status": c.status,
            "phone": c.patient_phone,
            "started_at": c.created_at,
            "messages": by_conversation[c.id],
        }
        for c in found
    ]


async def forget(session: AsyncSession, person: Person) -> list[str]:
    """Returns the ids of the conversations emptied."""
    ids = [c.id for c in await conversations_of(session, person)]
    if not ids:
        return []
    await session.execute(
        update(ConversationMessage)
        .where(ConversationMessage.conversation_id.in_(ids))
        .values(body=ERASED, payload={}, client_message_id=None)
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(ids))
        .values(state={}, patient_phone=None, token_hash=None, status="closed")
    )
    return [str(i) for i in ids]


async def expire_message_bodies(
    session: AsyncSession, tenant_id: uuid.UUID, before: datetime, limit: int
) -> int:
    """Up to `limit` message bodies written before `before` emptied; how many."""
    batch = (
        select(ConversationMessage.id)
        .where(
            ConversationMessage.tenant_id == tenant_id,
            ConversationMessage.created_at < before,
            ConversationMessage.body.notin_(REMOVED),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(ConversationMessage)
        .where(ConversationMessage.id.in_(batch.scalar_subquery()))
        .values(body=EXPIRED, payload={})
    )
    return result.rowcount or 0


async def expire_idle_states(
    session: AsyncSession, tenant_id: uuid.UUID, before: datetime, limit: int
) -> int:
    """The gathered state of up to `limit` conversations idle since before `before` emptied."""
    batch = (
        select(Conversation.id)
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.updated_at < before,
            Conversation.state != {},
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(batch.scalar_subquery()))
        # Keeps its place in the inbox: emptying it is not activity.
        .values(state={}, updated_at=Conversation.updated_at)
    )
    return result.rowcount or 0
