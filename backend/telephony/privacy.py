"""The texts a patient sent and the calls they made, in an export; on erasure the texts' bodies,
the numbers and what the speech engine heard are removed (the rows stay for the call counts). Past
the clinic's retention periods, texts' bodies and calls' transcripts are emptied and call records
removed, a batch at a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.privacy import ERASED, EXPIRED, REMOVED, Person
from backend.telephony.models import InboundSms, VoiceCall, VoiceTurn


async def held_about(session: AsyncSession, person: Person) -> dict[str, Any]:
    texts = await session.scalars(
        select(InboundSms)
        .where(InboundSms.tenant_id == person.tenant_id, InboundSms.from_number.in_(person.phones))
        .order_by(InboundSms.received_at)
    )
    calls = await session.scalars(
        select(VoiceCall)
        .where(VoiceCall.tenant_id == person.tenant_id, VoiceCall.from_number.in_(person.phones))
        .order_by(VoiceCall.started_at)
    )
    return {
        "texts_received": [{"from": t.from_number, "body": t.body, "at": t.received_at} for t in texts],
        "calls": [
            {"from": c.from_number, "started_at": c.started_at, "ended_at": c.ended_at, "status": c.status}
            for c in calls
        ],
    }


async def forget(session: AsyncSession, person: Person) -> None:
    if not person.phones:
        return
    await session.execute(
        update(InboundSms)
        .where(InboundSms.tenant_id == person.tenant_id, InboundSms.from_number.in_(person.phones))
        .values(body=ERASED, from_number=ERASED)
    )
    calls = list(
        await session.scalars(
            update(VoiceCall)
            .where(VoiceCall.tenant_id == person.tenant_id, VoiceCall.from_number.in_(person.phones))
            .values(from_number=ERASED, last_prompt="")
            .returning(VoiceCall.call_sid)
        )
    )
    if calls:
        await session.execute(
            update(VoiceTurn).where(VoiceTurn.call_sid.in_(calls)).values(heard="", twiml="")
        )


async def expire_inbound_texts(
    session: AsyncSession, tenant_id: uuid.UUID, before: datetime, limit: int
) -> int:
    """Up to `limit` bodies of texts received before `before` (and answered) emptied; how many."""
    batch = (
        select(InboundSms.id)
        .where(
            InboundSms.tenant_id == tenant_id,
            InboundSms.received_at < before,
            InboundSms.status.notin_(("received", "processing")),
            InboundSms.body.notin_(REMOVED),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(InboundSms).where(InboundSms.id.in_(batch.scalar_subquery())).values(body=EXPIRED)
    )
    return result.rowcount or 0


async def expire_transcripts(
    session: AsyncSession, tenant_id: uuid.UUID, before: datetime, limit: int
) -> int:
    """What was heard and said in up to `limit` call turns before `before` emptied; how many."""
    batch = (
        select(VoiceTurn.call_sid, VoiceTurn.step)
        .join(VoiceCall, VoiceCall.call_sid == VoiceTurn.call_sid)
        .where(
            VoiceCall.tenant_id == tenant_id,
            VoiceTurn.created_at < before,
            or_(VoiceTurn.heard != "", VoiceTurn.twiml != ""),
        )
        .limit(limit)
        .with_for_update(of=VoiceTurn, skip_locked=True)
    )
    turns = [(row.call_sid, row.step) for row in await session.execute(batch)]
    for call_sid, step in turns:
        await session.execute(
            update(VoiceTurn)
            .where(VoiceTurn.call_sid == call_sid, VoiceTurn.step == step)
            .values(heard="", twiml="")
        )
    return len(turns)


async def expire_calls(session: AsyncSession, tenant_id: uuid.UUID, before: datetime, limit: int) -> int:
    """Up to `limit` records of calls that started before `before` removed, turns and all."""
    batch = (
        select(VoiceCall.call_sid)
        .where(VoiceCall.tenant_id == tenant_id, VoiceCall.started_at < before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(delete(VoiceCall).where(VoiceCall.call_sid.in_(batch.scalar_subquery())))
    return result.rowcount or 0
