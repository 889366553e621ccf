"""Writing appointments from the clinic's own system: a new one, or a change to one we have, with
the lifecycle of ours (messages, events, waitlist offers) and, over a time already taken, stored as
a conflict (see `external`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.core import audit, log_rows
from backend.core.context import Caller, TenantContext
from backend.core.errors import BusyRetry, SlotTaken
from backend.core.event_catalogue import (
    BookingCancelled,
    BookingCompleted,
    BookingConfirmed,
    BookingConflict,
    BookingCreated,
    BookingNoShow,
    BookingRescheduled,
)
from backend.customers import service as customers
from backend.messaging import lifecycle
from backend.scheduling import booking, guards, holds
from backend.scheduling.availability import OCCUPYING, occupying_overlap
from backend.scheduling.external_rows import Spec
from backend.scheduling.models import Appointment, Provider, Service

if TYPE_CHECKING:  # the customers domain's row, handed back by its service
    from backend.customers.models import Customer

T = TypeVar("T")
STATUS_EVENTS = {"cancelled": BookingCancelled, "completed": BookingCompleted, "no_show": BookingNoShow}


def state(appointment: Appointment) -> dict[str, Any]:
    """What an update may change, as stored."""
    return {
        "provider_id": appointment.provider_id,
        "service_id": appointment.service_id,
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "blocked_until": appointment.blocked_until,
        "status": appointment.status,
        "notes": appointment.notes,
    }


def versions(version: int | None, updated_at: datetime | None) -> dict[str, Any]:
    """The version columns an update sets: the ones it was sent with."""
    given = {"external_version": version, "external_updated_at": updated_at}
    return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True)
class Change:
    """What an existing appointment becomes: its new state (`_state`'s fields), who and what."""

    target: dict[str, Any]
    customer: Customer
    provider: Provider
    service: Service
    version: int | None
    updated_at: datetime | None


async def create(
    session: AsyncSession, caller: Caller, spec: Spec, now: datetime
) -> tuple[Appointment, list[uuid.UUID]]:
    """Store a new appointment from their system; what it overlaps (stored over them as a conflict)."""
    tenant = caller.tenant
    customer = await customers.find_or_create(session, caller, spec.customer, source="api", now=now)
    row = {
        "id": uuid.uuid4(),
        "tenant_id": tenant.id,
        "provider_id": spec.provider.id,
        "service_id": spec.service.id,
        "customer_id": customer.id,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "blocked_until": spec.blocked_until,
        "status": spec.status,
        "notes": spec.notes,
        "source": spec.source,
        "external_id": spec.external_id,
        "external_version": spec.version,
        "external_updated_at": spec.updated_at,
        "conflict": False,
    }

    async def insert(flagged: bool) -> Appointment:
        return await booking.insert_with_new_reference(session, tenant, {**row, "conflict": flagged})

    conflicts: list[uuid.UUID] = []
    occupying = spec.status in OCCUPYING
    if occupying:
        span = (spec.provider.id, spec.starts_at, spec.blocked_until)
        conflicts = await _make_room(session, caller, span, row["id"], [], now)
        appointment = await _stored(session, conflicts, insert)
    else:
        appointment = await insert(False)
    set_committed_value(appointment, "customer", customer)
    set_committed_value(appointment, "service", spec.service)
    set_committed_value(appointment, "provider", spec.provider)
    audit.record(
        session,
        caller,
        "appointment.imported",
        "appointment",
        appointment.id,
        {"source": spec.source, "external_id": spec.external_id, "status": spec.status},
    )
    booking.publish(session, caller, BookingCreated, appointment)
    if appointment.conflict:
        _flag(session, caller, appointment, conflicts)
    if occupying:
        notice = _notice(tenant, spec.source) and appointment.starts_at > now
        await lifecycle.on_booked(session, caller, appointment, now, notice=notice)
    return appointment, conflicts


async def change(
    session: AsyncSession, caller: Caller, appointment: Appointment, change: Change, now: datetime
) -> list[uuid.UUID]:
    """Write the change over the appointment, with the lifecycle its change of state calls for; what
    it now overlaps."""
    before = state(appointment)
    target = change.target
    freed = booking.slot_of(appointment)
    was_flagged = appointment.conflict
    was_occupying, occupies = before["status"] in OCCUPYING, target["status"] in OCCUPYING
    moved = any(target[k] != before[k] for k in ("provider_id", "starts_at", "blocked_until"))
    values = {**target, "customer_id": change.customer.id, **versions(change.version, change.updated_at)}
    if target["status"] == "cancelled" and before["status"] != "cancelled":
        values["cancel_reason"] = f"cancelled in {appointment.source}"

    async def write(flagged: bool) -> Appointment:
        statement = (
            update(Appointment)
            .where(Appointment.id == appointment.id)
            .values(**values, conflict=flagged)
            .execution_options(synchronize_session=False)
        )
        async with guards.taken_on_overlap():
            await session.execute(statement)
        set_committed_value(appointment, "conflict", flagged)
        return appointment

    conflicts: list[uuid.UUID] = []
    if occupies and (moved or not was_occupying or was_flagged):
        span = (change.provider.id, target["starts_at"], target["blocked_until"])
        conflicts = await _make_room(session, caller, span, appointment.id, [freed], now)
        await _stored(session, conflicts, write)
    else:
        await write(False)  # same time as before, and it was not over anything; or it frees its time
    for name, value in values.items():
        set_committed_value(appointment, name, value)
    set_committed_value(appointment, "customer", change.customer)
    set_committed_value(appointment, "service", change.service)
    set_committed_value(appointment, "provider", change.provider)
    audit.record(
        session,
        caller,
        "appointment.external_updated",
        "appointment",
        appointment.id,
        {
            "source": appointment.source,
            "external_id": appointment.external_id,
            "fields": sorted(k for k in target if target[k] != before[k]),
        },
    )
    await _lifecycle(session, caller, appointment, before, freed, moved, now)
    if appointment.conflict and (moved or not was_occupying or not was_flagged):
        _flag(session, caller, appointment, conflicts)
    return conflicts


async def _lifecycle(
    session: AsyncSession,
    caller: Caller,
    appointment: Appointment,
    before: dict[str, Any],
    freed: lifecycle.FreedSlot,
    moved: bool,
    now: datetime,
) -> None:
    """The events and messages of the change, as for one of ours."""
    was, status = before["status"], appointment.status
    notice = _notice(caller.tenant, appointment.source)
    if was in OCCUPYING and status in OCCUPYING:
        if moved:
            booking.publish(
                session,
                caller,
                BookingRescheduled,
                appointment,
                previous_starts_at=freed.starts_at,
                previous_provider_id=freed.provider_id,
            )
            upcoming = notice and appointment.starts_at > now
            await lifecycle.on_rescheduled(session, caller, appointment, freed, now, notice=upcoming)
        elif was == "booked" and status == "confirmed":
            booking.publish(session, caller, BookingConfirmed, appointment, via=appointment.source)
    elif status in OCCUPYING:
        booking.publish(session, caller, BookingCreated, appointment)
        upcoming = notice and appointment.starts_at > now
        await lifecycle.on_booked(session, caller, appointment, now, notice=upcoming)
    elif status != was:
        booking.publish(session, caller, STATUS_EVENTS[status], appointment)
        if was not in OCCUPYING:
            return  # one past outcome corrected to another: nothing to send
        if status == "cancelled":
            upcoming = notice and freed.starts_at > now
            await lifecycle.on_cancelled(session, caller, appointment, freed, now, notice=upcoming)
        elif status == "completed":
            await lifecycle.on_completed(session, caller, appointment, now)
        else:
            await lifecycle.on_no_show(session, caller, appointment, now)


async def _make_room(
    session: AsyncSession,
    caller: Caller,
    span: tuple[uuid.UUID, datetime, datetime],
    appointment_id: uuid.UUID,
    previous: list[lifecycle.FreedSlot],
    now: datetime,
) -> list[uuid.UUID]:
    """Take the provider-day locks of the new time (and the old), let live holds over the new time
    go, and return what already occupies it: the appointment is stored over those, as a conflict."""
    provider_id, start, end = span
    spans = [span, *((p.provider_id, p.starts_at, p.blocked_until) for p in previous)]
    await guards.lock_days(session, caller.tenant, spans)
    await holds.give_way(session, caller, provider_id, start, end, now)
    return await overlapping_ids(session, caller.tenant.id, provider_id, start, end, appointment_id)


async def _stored(
    session: AsyncSession, conflicts: list[uuid.UUID], write: Callable[[bool], Awaitable[T]]
) -> T:
    """`write(flagged)`: as a conflict when something occupies the time. An overlap this
    transaction's snapshot could not see (a booking committed meanwhile) is found by the database,
    and the appointment is stored as a conflict all the same."""
    if conflicts:
        return await write(True)
    try:
        async with log_rows.savepoint(session):
            return await write(False)
    except SlotTaken:
        pass
    try:
        return await write(True)
    except SlotTaken as error:  # a patient's hold placed meanwhile: the next try lets it go
        raise BusyRetry("a booking was being made at this time; send it again") from error


async def overlapping_ids(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
    appointment_id: uuid.UUID,
) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Appointment.id)
        .where(
            Appointment.tenant_id == tenant_id,
            Appointment.provider_id == provider_id,
            Appointment.status.in_(OCCUPYING),
            occupying_overlap(Appointment, start, end),
            Appointment.id != appointment_id,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return list(rows)


def _flag(
    session: AsyncSession, caller: Caller, appointment: Appointment, conflicts: list[uuid.UUID]
) -> None:
    if not appointment.conflict:
        return
    audit.record(
        session, caller, "appointment.conflict", "appointment", appointment.id,
        {"source": appointment.source, "overlaps": [str(i) for i in conflicts]},
    )  # fmt: skip
    booking.publish(session, caller, BookingConflict, appointment, conflicting_appointment_ids=conflicts)


def _notice(tenant: TenantContext, source: str) -> bool:
    return source in tenant.settings.external_confirmation_sources


async def open_conflicts(
    session: AsyncSession, tenant: TenantContext, now: datetime, limit: int = 200
) -> list[tuple[Appointment, list[Appointment]]]:
    """Upcoming appointments stored over a taken time that still overlap something, with what."""
    flagged = await session.scalars(
        select(Appointment)
        .where(
            Appointment.tenant_id == tenant.id,
            Appointment.conflict,
            Appointment.status.in_(OCCUPYING),
            Appointment.blocked_until > now,
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(limit)
    )
    found = []
    for appointment in list(flagged.unique()):
        others = await session.scalars(
            select(Appointment)
            .where(
                Appointment.tenant_id == tenant.id,
                Appointment.provider_id == appointment.provider_id,
                Appointment.status.in_(OCCUPYING),
                occupying_overlap(Appointment, appointment.starts_at, appointment.blocked_until),
                Appointment.id != appointment.id,
            )
            .order_by(Appointment.starts_at)
        )
        overlaps = list(others.unique())
        if overlaps:
            found.append((appointment, overlaps))
    return found
