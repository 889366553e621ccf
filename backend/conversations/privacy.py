"""A patient's conversations, found by the contact details they gave or texted and called from,
in an export; on erasure every message body, the gathered state and the number are removed (the
conversation stays, empty, so counts and the inbox's history add up)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, ConversationMessage
from backend.core.privacy import ERASED, Person


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
