"""The clinic's inbox: every conversation on every channel that has a message in it, newest activity
first, a page at a time, with who the patient is as far as the conversation knows, its last message,
and whether the patient said they are running late for the visit the conversation is about."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.models import Conversation, ConversationMessage
from backend.core import cursors
from backend.core.context import TenantContext
from backend.scheduling import appointment_lists
from backend.scheduling.appointment_lists import LateNotice

PREVIEW_CHARS = 140


@dataclass(frozen=True)
class InboxFilter:
    status: str | None = None  # open | needs_human | closed
    channel: str | None = None  # web | sms | voice
    handler: str | None = None  # receptionist | staff
    today: bool = False
    triage: str | None = None  # emergency | urgent | any (flagged at all)
    acknowledged: bool | None = None  # of flagged conversations: seen by staff, or not yet


@dataclass(frozen=True)
class InboxItem:
    conversation: Conversation
    patient: str
    last_text: str
    last_role: str | None
    late: LateNotice | None = None


def patient_label(conversation: Conversation) -> str:
    """Who the patient is, from what the conversation has gathered: name, then number, then channel."""
    state = conversation.state or {}
    name = state.get("name")
    if isinstance(name, str) and name:
        return name
    phone = conversation.patient_phone or state.get("phone")
    if isinstance(phone, str) and phone:
        return phone
    return {"web": "Web visitor", "sms": "Text", "voice": "Caller"}.get(conversation.channel, "Patient")


def _filtered(tenant: TenantContext, filters: InboxFilter, now: datetime) -> Select[tuple[Conversation]]:
    # A widget opened and left unused starts a conversation with nothing in it: no one's to answer.
    query = select(Conversation).where(Conversation.tenant_id == tenant.id, Conversation.last_seq > 0)
    if filters.status:
        query = query.where(Conversation.status == filters.status)
    if filters.channel:
        query = query.where(Conversation.channel == filters.channel)
    if filters.handler:
        query = query.where(Conversation.handler == filters.handler)
    if filters.triage == "any":
        query = query.where(Conversation.triage_band.is_not(None))
    elif filters.triage:
        query = query.where(Conversation.triage_band == filters.triage)
    if filters.acknowledged is not None:
        seen = Conversation.triage_acknowledged_at.is_not(None)
        query = query.where(seen if filters.acknowledged else ~seen)
    if filters.today:
        midnight = datetime.combine(now.astimezone(tenant.timezone).date(), time(0), tenant.timezone)
        query = query.where(Conversation.updated_at >= midnight)
    return query


async def page(
    session: AsyncSession,
    tenant: TenantContext,
    filters: InboxFilter,
    now: datetime,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[InboxItem], str | None]:
    rows, next_cursor = await cursors.newest_first(
        session,
        _filtered(tenant, filters, now),
        Conversation.updated_at,
        Conversation.id,
        limit=limit,
        cursor=cursor,
    )
    last = await _last_messages(session, [row.id for row in rows])
    late = await late_notices(session, tenant, rows, now)
    items = [
        InboxItem(row, patient_label(row), *last.get(row.id, ("", None)), late=late.get(row.id))
        for row in rows
    ]
    return items, next_cursor


async def late_notices(
    session: AsyncSession, tenant: TenantContext, rows: list[Conversation], now: datetime
) -> dict[uuid.UUID, LateNotice]:
    """Of these conversations, the ones whose booking (the one the conversation is about) has a
    late notice from its patient, still current."""
    about = {row.id: (row.state or {}).get("reference") for row in rows}
    references = {reference for reference in about.values() if isinstance(reference, str)}
    notices = await appointment_lists.late_notices(session, tenant, references, now)
    return {cid: notices[reference] for cid, reference in about.items() if reference in notices}


async def waiting(session: AsyncSession, tenant: TenantContext) -> int:
    """How many conversations wait for a person: the inbox badge."""
    count = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.tenant_id == tenant.id, Conversation.status == "needs_human")
    )
    return int(count or 0)


async def open_alerts(session: AsyncSession, tenant: TenantContext) -> int:
    """How many flagged conversations no one has acknowledged: the inbox's red badge."""
    count = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(
            Conversation.tenant_id == tenant.id,
            Conversation.triage_band.is_not(None),
            Conversation.triage_acknowledged_at.is_(None),
        )
    )
    return int(count or 0)


async def _last_messages(
    session: AsyncSession, conversation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    if not conversation_ids:
        return {}
    rows = await session.execute(
        select(ConversationMessage.conversation_id, ConversationMessage.body, ConversationMessage.role)
        .ext(distinct_on(ConversationMessage.conversation_id))
        .where(ConversationMessage.conversation_id.in_(conversation_ids))
        .order_by(ConversationMessage.conversation_id, ConversationMessage.seq.desc())
    )
    return {cid: (body[:PREVIEW_CHARS], role) for cid, body, role in rows.all()}
