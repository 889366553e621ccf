"""The texts a patient sent and the calls they made, in an export; on erasure the texts' bodies,
the numbers and what the speech engine heard are removed (the rows stay for the call counts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.privacy import ERASED, Person
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
