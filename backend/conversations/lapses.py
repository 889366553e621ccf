"""A web chat's held time that ran out is said in the chat at once: stored as the receptionist's
message and pushed to the widget (Socket.IO, or the widget's next poll), and the conversation's
state forgets the hold, so the patient's next message is not told again and a late yes checks the
time afresh. A chat by text hears it with its next reply instead (the turn notices the lapse), and
so does a chat whose turn is running at that moment."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.dialogue.planner import lapse_text
from agent.replies import when_label
from agent.state import ConversationState, LapsedHold
from backend.conversations.live import Live
from backend.conversations.models import Conversation
from backend.conversations.service import StoredMessage, append
from backend.core.db import Database
from backend.tenants import service as tenants

OWNER_PREFIX = "conversation:"


async def tell_chats(db: Database, live: Live, lapsed: list[tuple[uuid.UUID, uuid.UUID, str]]) -> int:
    """Tell each web chat whose hold ran out; returns how many were told."""
    told = 0
    for tenant_id, hold_id, owner in lapsed:
        if not owner.startswith(OWNER_PREFIX):
            continue
        conversation_id = uuid.UUID(owner.removeprefix(OWNER_PREFIX))
        message = await db.transaction(
            functools.partial(_note, tenant_id=tenant_id, conversation_id=conversation_id, hold_id=hold_id)
        )
        if message is None:
            continue
        await live.to_patient(conversation_id, "message", message.event())
        await live.to_staff(
            tenant_id,
            "conversation.message",
            {"conversation_id": str(conversation_id), "channel": "web", "message": message.event()},
        )
        told += 1
    return told


async def _note(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, hold_id: uuid.UUID
) -> StoredMessage | None:
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.tenant_id == tenant_id)
        .with_for_update()
    )
    if conversation is None or conversation.channel != "web" or conversation.handler == "staff":
        return None
    if conversation.turn_lease_until is not None and conversation.turn_lease_until > datetime.now(UTC):
        return None  # a turn is running: it notices the lapse itself
    state = ConversationState.model_validate(conversation.state or {})
    hold = state.hold
    if hold is None or hold.id != str(hold_id):
        return None  # the chat has moved on (another time held, or booked)
    tenant = await tenants.get_context(session, tenant_id)
    state.hold = None
    state.lapsed = LapsedHold(service_id=hold.service_id, starts_at=hold.starts_at)
    conversation.state = state.model_dump(mode="json")
    text = lapse_text(when_label(hold.starts_at, tenant.timezone_name), tenant.settings.hold_ttl_minutes)
    return await append(session, conversation, "assistant", text)
