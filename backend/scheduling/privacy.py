"""A patient's appointments and waiting-list entries in an export; on erasure the appointments
stay as anonymous rows for the schedule's history (their notes go), the waiting list entries go."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.privacy import Person
from backend.scheduling.models import Appointment, WaitlistEntry


async def held_about(session: AsyncSession, person: Person) -> dict[str, Any]:
    appointments = await session.scalars(
        select(Appointment)
        .where(Appointment.tenant_id == person.tenant_id, Appointment.customer_id == person.customer_id)
        .order_by(Appointment.starts_at)
    )
    waiting = await session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.tenant_id == person.tenant_id, WaitlistEntry.customer_id == person.customer_id
        )
    )
    return {
        "appointments": [
            {
                "id": str(a.id),
                "reference": a.reference,
                "service": a.service.name,
                "provider": a.provider.name,
                "starts_at": a.starts_at,
                "ends_at": a.ends_at,
                "status": a.status,
                "notes": a.notes,
                "cancel_reason": a.cancel_reason,
                "source": a.source,
                "external_id": a.external_id,
                "created_at": a.created_at,
            }
            for a in appointments
        ],
        "waiting_list": [
            {
                "first_day": w.first_day,
                "last_day": w.last_day,
                "part_of_day": w.part_of_day,
                "status": w.status,
            }
            for w in waiting
        ],
    }


async def forget(session: AsyncSession, person: Person) -> list[str]:
    """Returns the ids of the person's appointments (their audit rows are redacted too)."""
    ids = await session.scalars(
        update(Appointment)
        .where(Appointment.tenant_id == person.tenant_id, Appointment.customer_id == person.customer_id)
        .values(notes="", cancel_reason=None)
        .returning(Appointment.id)
    )
    appointment_ids = [str(i) for i in ids]
    await session.execute(
        delete(WaitlistEntry).where(
            WaitlistEntry.tenant_id == person.tenant_id, WaitlistEntry.customer_id == person.customer_id
        )
    )
    return appointment_ids


async def patients_by_reference(session: AsyncSession, tenant_id: uuid.UUID, text: str) -> set[uuid.UUID]:
    """Whose booking a reference code is (a patient searched for by the code on their text)."""
    code = text.strip().upper()
    if not code or len(code) > 16:
        return set()
    found = await session.scalars(
        select(Appointment.customer_id).where(
            Appointment.tenant_id == tenant_id, Appointment.reference == code
        )
    )
    return set(found)
