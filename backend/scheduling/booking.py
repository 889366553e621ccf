"""Bookings: confirming a hold, booking in one step, rescheduling (the new slot taken before the old
one is freed) and cancelling; how a visit went is `attendance`, finding them is `appointment_lists`.
Every write runs under the guards of `backend.scheduling.guards`."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.calendars import push_queue
from backend.core import audit, events
from backend.core.context import Caller, TenantContext
from backend.core.db import UNORDERED
from backend.core.errors import (
    Conflict,
    HoldExpired,
    NotFound,
)
from backend.core.event_catalogue import (
    BookingCancelled,
    BookingCreated,
    BookingData,
    BookingRescheduled,
)
from backend.customers import service as customers
from backend.customers.schemas import CustomerIn
from backend.messaging import lifecycle
from backend.scheduling import guards, holds
from backend.scheduling.availability import (
    OCCUPYING,
    get_service,
    providers_for,
)
from backend.scheduling.models import Appointment, Hold, Provider, Service
from backend.scheduling.schemas import BookingCreate, CancelIn, HoldConfirm, RescheduleIn

# No 0/O, 1/I/L: a reference is read aloud over the phone and typed from a text message.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6


async def confirm_hold(
    session: AsyncSession,
    caller: Caller,
    hold_id: uuid.UUID,
    data: HoldConfirm,
    now: datetime,
    *,
    consent_source: str = "api",
) -> Appointment:
    """Book a held time. `consent_source` says where the patient's consent in `data` came from
    (chat: the summary they said yes to; api: the request)."""
    hold = await holds.own_hold(session, caller.tenant, hold_id, data.session_key)
    if hold.status == "confirmed":
        raise Conflict("this hold has already been confirmed", details={"hold_id": str(hold.id)})
    if hold.status != "active" or hold.expires_at <= now:
        raise HoldExpired(
            "the hold has expired; search availability and hold the time again",
            details={"hold_id": str(hold.id), "expired_at": hold.expires_at.isoformat()},
        )
    service = await get_service(session, caller.tenant, hold.service_id)
    await guards.lock_days(session, caller.tenant, [(hold.provider_id, hold.starts_at, hold.blocked_until)])
    return await _book_held_slot(
        session, caller, hold, service, data.customer, data.notes, now, consent_source
    )


def gate_for_booking(tenant: TenantContext, data: BookingCreate) -> int:
    """The gate `book` runs behind. For a named provider it reads no row another booking writes
    (see `book`), so its transactions need no order among themselves: tenants and calendars book
    in parallel. Choosing among providers reads their calendars, so that goes behind the tenant's gate."""
    return UNORDERED if data.provider_id is not None else guards.writer_gate(tenant.id)


async def book(session: AsyncSession, caller: Caller, data: BookingCreate, now: datetime) -> Appointment:
    """Book in one step, for callers that already have the patient's details; run it behind
    `gate_for_booking`.

    No hold is written: a hold reserves a time while a patient decides, and writing one here would
    only make every tenant's bookings touch the same few index pages of the (small) live-holds
    index. With one candidate provider the calendar is not read either: the INSERT meets the EXCLUDE
    constraints and the hold and busy-time triggers, which refuse a taken time; SERIALIZABLE then
    has no page of other bookings to abort us on.
    """
    tenant = caller.tenant
    service = await get_service(session, tenant, data.service_id)
    candidates = await providers_for(session, tenant, service, data.provider_id)
    start = data.starts_at.astimezone(UTC)
    provider = await holds.choose_provider(
        session, tenant, service, candidates, start, now, owner=None, read_busy=len(candidates) > 1
    )
    end = start + timedelta(minutes=service.duration_minutes)
    span = (start, end, end + timedelta(minutes=service.buffer_minutes))
    await guards.lock_days(session, tenant, [(provider.id, start, span[2])])
    return await _take_slot(session, caller, provider, service, span, data.customer, data.notes, now, "api")


async def reschedule(
    session: AsyncSession, caller: Caller, ident: str, data: RescheduleIn, now: datetime
) -> Appointment:
    """Move an appointment in one statement: the new time is taken as the old one is freed."""
    tenant = caller.tenant
    appointment = await get_appointment(session, tenant, ident, for_update=True)
    if appointment.status not in OCCUPYING:
        raise Conflict(f"a {spoken(appointment.status)} appointment cannot be rescheduled")
    if appointment.starts_at <= now:
        raise Conflict("this appointment has already started or passed")
    service = await get_service(session, tenant, appointment.service_id)
    candidates = await providers_for(session, tenant, service, data.provider_id or appointment.provider_id)
    start = data.starts_at.astimezone(UTC)
    provider = await holds.choose_provider(
        session, tenant, service, candidates, start, now, owner=None, ignore_appointment=appointment.id
    )
    # Another system's appointment keeps the length that system gave it.
    length = (
        appointment.ends_at - appointment.starts_at
        if appointment.external
        else timedelta(minutes=service.duration_minutes)
    )
    end = start + length
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    await guards.lock_days(
        session,
        tenant,
        [
            (appointment.provider_id, appointment.starts_at, appointment.blocked_until),
            (provider.id, start, blocked_until),
        ],
    )
    await holds.expire_stale_holds(session, caller, provider.id, start, blocked_until, now)
    before = {"starts_at": appointment.starts_at.isoformat(), "provider_id": str(appointment.provider_id)}
    freed = slot_of(appointment)
    appointment.provider_id = provider.id
    appointment.provider = provider
    appointment.starts_at, appointment.ends_at, appointment.blocked_until = start, end, blocked_until
    # The patient confirmed the old time, not this one (nor are they late for it).
    appointment.status = "booked"
    appointment.confirmed_at = appointment.confirmed_via = None
    appointment.late_minutes = appointment.late_noticed_at = None
    # A time chosen here is a free one: it takes its place under the exclusion constraint.
    appointment.conflict = False
    await guards.flush_or_taken(session)
    audit.record(
        session,
        caller,
        "appointment.rescheduled",
        "appointment",
        appointment.id,
        {"from": before, "to": {"starts_at": start.isoformat(), "provider_id": str(provider.id)}},
    )
    publish(
        session,
        caller,
        BookingRescheduled,
        appointment,
        previous_starts_at=freed.starts_at,
        previous_provider_id=freed.provider_id,
    )
    await lifecycle.on_rescheduled(session, caller, appointment, freed, now)
    await _push_to_calendar(session, appointment, now)
    return appointment


async def cancel(
    session: AsyncSession, caller: Caller, ident: str, data: CancelIn, now: datetime
) -> Appointment:
    appointment = await get_appointment(session, caller.tenant, ident, for_update=True)
    if appointment.status == "cancelled":
        return appointment  # cancelling twice is the same as cancelling once
    if appointment.status not in OCCUPYING:
        raise Conflict(f"a {spoken(appointment.status)} appointment cannot be cancelled")
    if appointment.starts_at <= now:
        raise Conflict("this appointment has already started or passed")
    appointment.status = "cancelled"
    appointment.cancel_reason = data.reason or None
    await session.flush()
    audit.record(
        session, caller, "appointment.cancelled", "appointment", appointment.id, {"reason": data.reason}
    )
    publish(session, caller, BookingCancelled, appointment)
    await lifecycle.on_cancelled(session, caller, appointment, slot_of(appointment), now)
    await _push_to_calendar(session, appointment, now)
    return appointment


async def get_appointment(
    session: AsyncSession, tenant: TenantContext, ident: str, *, for_update: bool = False
) -> Appointment:
    """An appointment by id or by its reference code (any case)."""
    query = select(Appointment).where(Appointment.tenant_id == tenant.id)
    try:
        query = query.where(Appointment.id == uuid.UUID(ident))
    except ValueError:
        query = query.where(Appointment.reference == ident.strip().upper())
    if for_update:
        query = query.with_for_update(of=Appointment)
    appointment = (await session.execute(query)).scalar_one_or_none()
    if appointment is None:
        raise NotFound(f"appointment {ident!r} not found", details={"appointment": ident})
    return appointment


async def _push_to_calendar(session: AsyncSession, appointment: Appointment, now: datetime) -> None:
    """Our bookings go to the provider's connected calendar; another system's appointments are that
    system's to write (it usually does, and two copies would show the provider busy twice)."""
    if not appointment.external:
        await push_queue.enqueue(session, appointment.tenant_id, appointment.id, appointment.provider_id, now)


def slot_of(appointment: Appointment) -> lifecycle.FreedSlot:
    return lifecycle.FreedSlot(
        appointment.provider_id, appointment.service_id, appointment.starts_at, appointment.blocked_until
    )


def publish(
    session: AsyncSession,
    caller: Caller,
    event: type[BookingData],
    appointment: Appointment,
    **extra: object,
) -> None:
    events.emit(
        session,
        caller,
        event(
            appointment_id=appointment.id,
            reference=appointment.reference,
            customer_id=appointment.customer_id,
            provider_id=appointment.provider_id,
            service_id=appointment.service_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            status=appointment.status,
            source=appointment.source,
            external_id=appointment.external_id,
            **extra,
        ),
    )


def spoken(status: str) -> str:
    return status.replace("_", "-")


async def _book_held_slot(
    session: AsyncSession,
    caller: Caller,
    hold: Hold,
    service: Service,
    customer_data: CustomerIn,
    notes: str,
    now: datetime,
    consent_source: str,
) -> Appointment:
    """Turn `hold` into an appointment; the caller holds the provider-day lock already."""
    hold.status = "confirmed"
    await session.flush()
    # Loaded earlier in this session when the provider was chosen, so this is no extra query.
    provider = await session.get_one(Provider, hold.provider_id)
    span = (hold.starts_at, hold.ends_at, hold.blocked_until)
    return await _take_slot(
        session, caller, provider, service, span, customer_data, notes, now, consent_source, hold=hold
    )


async def _take_slot(
    session: AsyncSession,
    caller: Caller,
    provider: Provider,
    service: Service,
    span: tuple[datetime, datetime, datetime],
    customer_data: CustomerIn,
    notes: str,
    now: datetime,
    consent_source: str,
    hold: Hold | None = None,
) -> Appointment:
    """Write the appointment for (starts, ends, blocked until), with its audit row, event, messages
    and calendar push, all in the caller's transaction."""
    tenant = caller.tenant
    customer = await customers.find_or_create(session, caller, customer_data, source=consent_source, now=now)
    row = {
        "id": uuid.uuid4(),
        "tenant_id": tenant.id,
        "provider_id": provider.id,
        "service_id": service.id,
        "customer_id": customer.id,
        "starts_at": span[0],
        "ends_at": span[1],
        "blocked_until": span[2],
        "status": "booked",
        "notes": notes,
        **_booked_via(caller),
    }
    appointment = await insert_with_new_reference(session, tenant, row)
    set_committed_value(appointment, "customer", customer)
    set_committed_value(appointment, "service", service)
    set_committed_value(appointment, "provider", provider)
    audit.record(
        session,
        caller,
        "appointment.booked",
        "appointment",
        appointment.id,
        {
            "reference": appointment.reference,
            "hold_id": str(hold.id) if hold else None,
            "provider_id": str(appointment.provider_id),
            "service_id": str(service.id),
            "starts_at": appointment.starts_at.isoformat(),
            "customer": {"name": customer.name, "phone": customer.phone, "email": customer.email},
            "notes": notes,
        },
    )
    publish(session, caller, BookingCreated, appointment)
    await lifecycle.on_booked(session, caller, appointment, now)
    await push_queue.enqueue(session, tenant.id, appointment.id, appointment.provider_id, now)
    return appointment


def _booked_via(caller: Caller) -> dict[str, object]:
    """Who booked, from who the caller is: the reports split bookings by it."""
    kind, _, ident = caller.actor.partition(":")
    if kind == "conversation":
        return {"booked_via": "conversation", "conversation_id": uuid.UUID(ident)}
    via = {"staff": "staff", "key": "api", "waitlist": "waitlist"}.get(kind, "system")
    return {"booked_via": via, "conversation_id": None}


# Built once: building it per booking cost more than running it.
_INSERT_UNLESS_REFERENCE_USED = (
    insert(Appointment)
    .on_conflict_do_nothing(constraint="appointments_tenant_reference_key")
    .returning(Appointment)
)


async def insert_with_new_reference(
    session: AsyncSession, tenant: TenantContext, row: dict[str, object]
) -> Appointment:
    """Insert the appointment under a fresh random reference. A reference already used is skipped by
    the unique constraint rather than looked up first: a lookup would read the index page every
    other booking writes to."""
    for _ in range(10):
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        async with guards.taken_on_overlap():
            inserted = await session.execute(_INSERT_UNLESS_REFERENCE_USED, {**row, "reference": reference})
        appointment = inserted.scalar_one_or_none()
        if appointment is not None:
            return appointment
    raise RuntimeError("could not find a free booking reference")
