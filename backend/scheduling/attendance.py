"""A booked visit's attendance: the patient confirms it or says they are running late (a reply to a
reminder, an e-mail link), and staff record how it went (completed or no-show)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller
from backend.core.errors import Conflict
from backend.core.event_catalogue import BookingCompleted, BookingConfirmed, BookingNoShow, BookingRunningLate
from backend.messaging import lifecycle
from backend.scheduling import booking
from backend.scheduling.availability import OCCUPYING
from backend.scheduling.models import Appointment


async def record_attendance(
    session: AsyncSession, caller: Caller, ident: str, outcome: Literal["completed", "no_show"], now: datetime
) -> Appointment:
    """Staff say how a visit went: completed (a review request follows) or no-show (a recovery text)."""
    appointment = await booking.get_appointment(session, caller.tenant, ident, for_update=True)
    if appointment.status == outcome:
        return appointment  # saying it twice is saying it once
    if appointment.status not in OCCUPYING:
        raise Conflict(
            f"a {booking.spoken(appointment.status)} appointment cannot be marked {booking.spoken(outcome)}"
        )
    if appointment.starts_at > now:
        raise Conflict("this appointment has not started yet")
    appointment.status = outcome
    await session.flush()
    audit.record(session, caller, f"appointment.{outcome}", "appointment", appointment.id)
    event = BookingCompleted if outcome == "completed" else BookingNoShow
    booking.publish(session, caller, event, appointment)
    if outcome == "completed":
        await lifecycle.on_completed(session, caller, appointment, now)
    else:
        await lifecycle.on_no_show(session, caller, appointment, now)
    return appointment


async def confirm_attendance(
    session: AsyncSession, caller: Caller, appointment_id: uuid.UUID, via: str, now: datetime
) -> Appointment:
    """The patient says they will come (a reply to a reminder, its e-mail link). Confirming twice
    is confirming once: the first time and channel stay."""
    appointment = await booking.get_appointment(session, caller.tenant, str(appointment_id), for_update=True)
    if appointment.status == "confirmed":
        return appointment
    if appointment.status != "booked":
        raise Conflict(f"a {booking.spoken(appointment.status)} appointment cannot be confirmed")
    if appointment.starts_at <= now:
        raise Conflict("this appointment has already started or passed")
    appointment.status = "confirmed"
    appointment.confirmed_at, appointment.confirmed_via = now, via
    await session.flush()
    audit.record(session, caller, "appointment.confirmed", "appointment", appointment.id, {"via": via})
    booking.publish(session, caller, BookingConfirmed, appointment, via=via, confirmed_at=now)
    return appointment


async def note_running_late(
    session: AsyncSession,
    caller: Caller,
    appointment_id: uuid.UUID,
    minutes: int | None,
    via: str,
    now: datetime,
) -> Appointment:
    """The patient says they are running late: the schedule shows it and integrations hear of it.
    Saying they will come late is also saying they will come, so a booked visit counts as confirmed."""
    appointment = await booking.get_appointment(session, caller.tenant, str(appointment_id), for_update=True)
    if appointment.status not in OCCUPYING:
        raise Conflict(f"a {booking.spoken(appointment.status)} appointment is not expected")
    if appointment.ends_at <= now:
        raise Conflict("this appointment is already over")
    appointment.late_minutes, appointment.late_noticed_at = minutes or 0, now
    if appointment.status == "booked":
        appointment.status = "confirmed"
        appointment.confirmed_at, appointment.confirmed_via = now, via
    await session.flush()
    audit.record(
        session,
        caller,
        "appointment.running_late",
        "appointment",
        appointment.id,
        {"minutes": minutes, "via": via},
    )
    booking.publish(session, caller, BookingRunningLate, appointment, via=via, minutes_late=minutes)
    return appointment
