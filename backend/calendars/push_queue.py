"""Queueing a booking for its provider's calendar, inside the booking's own transaction.

The queue row says only "bring this appointment's event up to date"; the push reads the
appointment as it is when it runs, so a booking moved twice before the push runs is written once,
at its final time, and a retried push writes the same event again (our id is the event's id).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Uuid, bindparam, exists, or_, select, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars.models import CalendarEventLink, CalendarPush, CalendarSource


def _enqueue_statement() -> Insert:
    """Built once, with bound parameters: building it per booking cost more than running it."""
    provider_id = bindparam("provider_id", type_=Uuid)
    appointment_id = bindparam("appointment_id", type_=Uuid)
    wanted = or_(
        exists().where(CalendarSource.provider_id == provider_id, CalendarSource.receives_bookings),
        exists().where(CalendarEventLink.appointment_id == appointment_id),
    )
    values = (
        bindparam("id", type_=Uuid),
        bindparam("tenant_id", type_=Uuid),
        appointment_id,
        bindparam("now", type_=DateTime(timezone=True)),
    )
    rows = select(*values).where(wanted)
    # On the table, not the entity: a Core statement, so its parameters are not read as an ORM bulk insert.
    statement = insert(CalendarPush.__table__).from_select(
        ["id", "tenant_id", "appointment_id", "next_attempt_at"], rows
    )
    return statement.on_conflict_do_update(
        index_elements=["appointment_id"],
        # Literal, so PostgreSQL matches it to the partial unique index's predicate.
        index_where=text("state = 'pending'"),
        set_={"next_attempt_at": statement.excluded.next_attempt_at, "attempts": 0, "last_error": None},
    )


_ENQUEUE = _enqueue_statement()


async def enqueue(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    appointment_id: uuid.UUID,
    provider_id: uuid.UUID,
    now: datetime,
) -> None:
    """One statement, and no row at all unless the provider has a calendar receiving bookings or
    the appointment has an event somewhere (a cancel, a move to a provider without a calendar)."""
    await session.execute(
        _ENQUEUE,
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "appointment_id": appointment_id,
            "provider_id": provider_id,
            "now": now,
        },
    )
