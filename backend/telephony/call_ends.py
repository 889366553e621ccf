"""When a call ends, and when its caller rings back.

A call ends by its status callback, or by going quiet: every question a call is asked ends in a
`<Gather>` that posts back within seconds, so a call not heard from for ABANDONED is gone, and its
line is free. Either way the time it was holding is released at once (nobody else is kept from it),
and remembered: a caller who rings back from the same number while the hold would still have run
finds the conversation where it was, and a "yes" holds the time again if it is still free.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.replies import when_label
from agent.state import Choice, ConversationState, LapsedHold
from backend.conversations import service as conversations
from backend.core.context import Caller, TenantContext
from backend.scheduling import holds
from backend.telephony.models import VoiceCall

# A call that has not posted a turn for this long has been abandoned (a Gather answers in seconds).
ABANDONED = timedelta(minutes=1)
RESUMABLE_END_REASONS = frozenset({"completed", "abandoned", "failed", "no-answer", "canceled"})


async def end(
    session: AsyncSession, tenant: TenantContext, call: VoiceCall, reason: str, now: datetime
) -> None:
    """The call is over: its line is free, and the time it held is released (and remembered)."""
    call.status, call.ended_at, call.end_reason, call.updated_at = "ended", now, reason, now
    if call.conversation_id is None:
        return
    conversation = await conversations.by_id(session, call.conversation_id, lock=True)
    state = ConversationState.model_validate(conversation.state or {})
    if state.hold is None or (state.handed_off_until is not None and state.handed_off_until > now):
        return  # nothing held, or carried on in writing: the hold ends with the texted link
    caller = Caller(tenant, actor=f"conversation:{call.conversation_id}", correlation_id=call.call_sid)
    await holds.release_hold(session, caller, uuid.UUID(state.hold.id), caller.actor)
    state.lapsed = LapsedHold(service_id=state.hold.service_id, starts_at=state.hold.starts_at)
    state.hold = None
    conversation.state = state.model_dump(mode="json")


async def end_abandoned(session: AsyncSession, tenant: TenantContext, now: datetime) -> None:
    """End the tenant's calls that stopped answering (each by one transaction: the others skip it)."""
    quiet = await session.execute(
        select(VoiceCall)
        .where(
            VoiceCall.tenant_id == tenant.id,
            VoiceCall.status == "active",
            VoiceCall.updated_at <= now - ABANDONED,
        )
        .with_for_update(skip_locked=True)
    )
    for call in quiet.scalars():
        await end(session, tenant, call, "abandoned", now)


async def resumable(
    session: AsyncSession, tenant: TenantContext, caller_phone: str, now: datetime
) -> tuple[uuid.UUID, str] | None:
    """The conversation of this number's call that dropped while holding a time, if the hold would
    still have run: (its id, what to say to pick it up)."""
    window = timedelta(minutes=tenant.settings.hold_ttl_minutes)
    dropped = await session.scalar(
        select(VoiceCall)
        .where(
            VoiceCall.tenant_id == tenant.id,
            VoiceCall.from_number == caller_phone,
            VoiceCall.status == "ended",
            VoiceCall.end_reason.in_(RESUMABLE_END_REASONS),
            VoiceCall.ended_at > now - window,
            VoiceCall.conversation_id.is_not(None),
        )
        .order_by(VoiceCall.ended_at.desc())
        .limit(1)
    )
    if dropped is None:
        return None
    conversation = await conversations.by_id(session, dropped.conversation_id, lock=True)
    state = ConversationState.model_validate(conversation.state or {})
    if state.lapsed is None or state.lapsed.starts_at <= now or state.task != "book":
        return None
    when = when_label(state.lapsed.starts_at, tenant.timezone_name)
    state.awaiting = None  # a yes is to holding it again (the planner reads it against `lapsed`)
    state.choices = [Choice(label="Yes", value="yes"), Choice(label="No", value="no")]
    conversation.state = state.model_dump(mode="json")
    return (
        dropped.conversation_id,
        f"We were cut off while I was holding {when} for you. Shall I hold it again?",
    )
