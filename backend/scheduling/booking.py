"""Holds, bookings, reschedules and cancellations: the writes that must never double-book.

Run every write here as `Database.transaction(work, isolation="SERIALIZABLE", gate=writer_gate(tenant))`.
The layers: the gate orders one tenant's booking transactions on fresh snapshots; inside, a
transaction-scoped advisory lock per provider and local day lines up contenders for one calendar;
SERIALIZABLE plus the runner's retry catches what slips past; and the EXCLUDE constraints and the
hold/appointment triggers (alembic 0001) make an overlap impossible whatever the code does. An
overlap reported by the database becomes `SlotTaken`, never a server error.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import EXCLUSION_VIOLATION, sqlstate
from backend.core.errors import (
    Conflict,
    Forbidden,
    HoldExpired,
    NotFound,
    SlotTaken,
    SlotUnavailable,
    ValidationFailed,
)
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.customers.schemas import CustomerIn
from backend.messaging import lifecycle
from backend.scheduling.availability import (
    OCCUPYING,
    get_service,
    load_calendars,
    occupying_overlap,
    providers_for,
    rules_for,
)
from backend.scheduling.models import Appointment, Hold, Provider, Service
from backend.scheduling.schemas import BookingCreate, CancelIn, HoldConfirm, HoldCreate, RescheduleIn
from backend.scheduling.slots import days_between, overlaps, why_not_bookable

# No 0/O, 1/I/L: a reference is read aloud over the phone and typed from a text message.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 6
TAKEN_MESSAGE = "that time was just taken; please choose another time"


def writer_gate(tenant_id: uuid.UUID) -> int:
    """The advisory lock key ordering one tenant's booking transactions.

    Without it, SERIALIZABLE aborts bookings of different calendars that merely share index pages
    (predicate locks are page-grained), which on a busy tenant means retry storms. Tenants still
    book in parallel.
    """
    return _lock_key(tenant_id, "booking-writes")


# ---- holds ----


async def create_hold(session: AsyncSession, caller: Caller, data: HoldCreate, now: datetime) -> Hold:
    service = await get_service(session, caller.tenant, data.service_id)
    hold = await place_hold(session, caller, service, data.provider_id, data.starts_at, data.session_key, now)
    audit.record(
        session,
        caller,
        "hold.created",
        "hold",
        hold.id,
        {
            "provider_id": str(hold.provider_id),
            "service_id": str(service.id),
            "starts_at": hold.starts_at.isoformat(),
        },
    )
    return hold


async def get_hold(session: AsyncSession, tenant: TenantContext, hold_id: uuid.UUID) -> Hold:
    hold = (
        await session.execute(select(Hold).where(Hold.id == hold_id, Hold.tenant_id == tenant.id))
    ).scalar_one_or_none()
    if hold is None:
        raise NotFound(f"hold {hold_id} not found", details={"hold_id": str(hold_id)})
    return hold


async def release_hold(session: AsyncSession, caller: Caller, hold_id: uuid.UUID, owner: str) -> Hold:
    hold = await _own_hold(session, caller.tenant, hold_id, owner)
    if hold.status == "active":
        hold.status = "released"
        audit.record(session, caller, "hold.released", "hold", hold.id)
    return hold


async def confirm_hold(
    session: AsyncSession, caller: Caller, hold_id: uuid.UUID, data: HoldConfirm, now: datetime
) -> Appointment:
    hold = await _own_hold(session, caller.tenant, hold_id, data.session_key)
    if hold.status == "confirmed":
        raise Conflict("this hold has already been confirmed", details={"hold_id": str(hold.id)})
    if hold.status != "active" or hold.expires_at <= now:
        raise HoldExpired(
            "the hold has expired; search availability and hold the time again",
            details={"hold_id": str(hold.id), "expired_at": hold.expires_at.isoformat()},
        )
    service = await get_service(session, caller.tenant, hold.service_id)
    await _lock_days(session, caller.tenant, [(hold.provider_id, hold.starts_at, hold.blocked_until)])
    return await _book_held_slot(session, caller, hold, service, data.customer, data.notes, now)


async def book(session: AsyncSession, caller: Caller, data: BookingCreate, now: datetime) -> Appointment:
    """Hold and confirm in one transaction, for callers that already have the patient's details."""
    service = await get_service(session, caller.tenant, data.service_id)
    owner = f"booking:{uuid.uuid4()}"
    hold = await place_hold(session, caller, service, data.provider_id, data.starts_at, owner, now)
    return await _book_held_slot(session, caller, hold, service, data.customer, data.notes, now)


# ---- appointments ----


async def reschedule(
    session: AsyncSession, caller: Caller, ident: str, data: RescheduleIn, now: datetime
) -> Appointment:
    """Move an appointment in one statement: the new time is taken as the old one is freed."""
    tenant = caller.tenant
    appointment = await get_appointment(session, tenant, ident, for_update=True)
    if appointment.status not in OCCUPYING:
        raise Conflict(f"a {_spoken(appointment.status)} appointment cannot be rescheduled")
    if appointment.starts_at <= now:
        raise Conflict("this appointment has already started or passed")
    service = await get_service(session, tenant, appointment.service_id)
    candidates = await providers_for(session, tenant, service, data.provider_id or appointment.provider_id)
    start = data.starts_at.astimezone(UTC)
    provider = await _choose_provider(
        session, tenant, service, candidates, start, now, owner=None, ignore_appointment=appointment.id
    )
    end = start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    await _lock_days(
        session,
        tenant,
        [
            (appointment.provider_id, appointment.starts_at, appointment.blocked_until),
            (provider.id, start, blocked_until),
        ],
    )
    await _expire_stale_holds(session, caller, provider.id, start, blocked_until, now)
    before = {"starts_at": appointment.starts_at.isoformat(), "provider_id": str(appointment.provider_id)}
    freed = _slot_of(appointment)
    appointment.provider_id = provider.id
    appointment.provider = provider
    appointment.starts_at, appointment.ends_at, appointment.blocked_until = start, end, blocked_until
    # The patient confirmed the old time, not this one.
    appointment.status = "booked"
    await _flush_or_taken(session)
    audit.record(
        session,
        caller,
        "appointment.rescheduled",
        "appointment",
        appointment.id,
        {"from": before, "to": {"starts_at": start.isoformat(), "provider_id": str(provider.id)}},
    )
    await lifecycle.on_rescheduled(session, caller, appointment, freed, now)
    return appointment


async def cancel(
    session: AsyncSession, caller: Caller, ident: str, data: CancelIn, now: datetime
) -> Appointment:
    appointment = await get_appointment(session, caller.tenant, ident, for_update=True)
    if appointment.status == "cancelled":
        return appointment  # cancelling twice is the same as cancelling once
    if appointment.status not in OCCUPYING:
        raise Conflict(f"a {_spoken(appointment.status)} appointment cannot be cancelled")
    if appointment.starts_at <= now:
        raise Conflict("this appointment has already started or passed")
    appointment.status = "cancelled"
    appointment.cancel_reason = data.reason or None
    await session.flush()
    audit.record(
        session, caller, "appointment.cancelled", "appointment", appointment.id, {"reason": data.reason}
    )
    await lifecycle.on_cancelled(session, caller, appointment, _slot_of(appointment), now)
    return appointment


async def record_attendance(
    session: AsyncSession, caller: Caller, ident: str, outcome: Literal["completed", "no_show"], now: datetime
) -> Appointment:
    """Staff say how a visit went: completed (a review request follows) or no-show (a recovery text)."""
    appointment = await get_appointment(session, caller.tenant, ident, for_update=True)
    if appointment.status == outcome:
        return appointment  # saying it twice is saying it once
    if appointment.status not in OCCUPYING:
        raise Conflict(f"a {_spoken(appointment.status)} appointment cannot be marked {_spoken(outcome)}")
    if appointment.starts_at > now:
        raise Conflict("this appointment has not started yet")
    appointment.status = outcome
    await session.flush()
    audit.record(session, caller, f"appointment.{outcome}", "appointment", appointment.id)
    if outcome == "completed":
        await lifecycle.on_completed(session, caller, appointment, now)
    else:
        await lifecycle.on_no_show(session, caller, appointment, now)
    return appointment


async def confirm_attendance(
    session: AsyncSession, caller: Caller, appointment_id: uuid.UUID, via: str, now: datetime
) -> Appointment:
    """The patient says they will come (a "C" to a reminder). Confirming twice is confirming once."""
    appointment = await get_appointment(session, caller.tenant, str(appointment_id), for_update=True)
    if appointment.status == "confirmed":
        return appointment
    if appointment.status != "booked":
        raise Conflict(f"a {_spoken(appointment.status)} appointment cannot be confirmed")
    if appointment.starts_at <= now:
        raise Conflict("this appointment has already started or passed")
    appointment.status = "confirmed"
    await session.flush()
    audit.record(session, caller, "appointment.confirmed", "appointment", appointment.id, {"via": via})
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


async def list_appointments(
    session: AsyncSession,
    tenant: TenantContext,
    *,
    start: datetime | None,
    end: datetime | None,
    statuses: list[str],
    customer_id: uuid.UUID | None,
    phone: str | None,
    email: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Appointment], str | None]:
    """Appointments in start order, a page at a time (keyset pagination on starts_at, id)."""
    query = select(Appointment).where(Appointment.tenant_id == tenant.id)
    if start is not None:
        query = query.where(Appointment.starts_at >= start)
    if end is not None:
        query = query.where(Appointment.starts_at < end)
    if statuses:
        query = query.where(Appointment.status.in_(statuses))
    if customer_id is not None:
        query = query.where(Appointment.customer_id == customer_id)
    if phone is not None or email is not None:
        query = query.join(Customer, Customer.id == Appointment.customer_id)
    if phone is not None:
        normalized = customers.normalize_phone(phone, tenant.settings.default_country, field="phone")
        query = query.where(Customer.phone == normalized)
    if email is not None:
        query = query.where(Customer.email == email.strip().lower())
    if cursor is not None:
        after_start, after_id = _decode_cursor(cursor)
        query = query.where(
            (Appointment.starts_at > after_start)
            | ((Appointment.starts_at == after_start) & (Appointment.id > after_id))
        )
    query = query.order_by(Appointment.starts_at, Appointment.id).limit(limit + 1)
    rows = list((await session.execute(query)).scalars().unique())
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


# ---- the shared steps ----


def _slot_of(appointment: Appointment) -> lifecycle.FreedSlot:
    return lifecycle.FreedSlot(
        appointment.provider_id, appointment.service_id, appointment.starts_at, appointment.blocked_until
    )


def _spoken(status: str) -> str:
    return status.replace("_", "-")


async def _own_hold(session: AsyncSession, tenant: TenantContext, hold_id: uuid.UUID, owner: str) -> Hold:
    hold = (
        await session.execute(
            select(Hold).where(Hold.id == hold_id, Hold.tenant_id == tenant.id).with_for_update()
        )
    ).scalar_one_or_none()
    if hold is None:
        raise NotFound(f"hold {hold_id} not found", details={"hold_id": str(hold_id)})
    if hold.owner != owner:
        raise Forbidden("this hold belongs to another session", details={"hold_id": str(hold_id)})
    return hold


async def place_hold(
    session: AsyncSession,
    caller: Caller,
    service: Service,
    provider_id: uuid.UUID | None,
    starts_at: datetime,
    owner: str,
    now: datetime,
) -> Hold:
    tenant = caller.tenant
    candidates = await providers_for(session, tenant, service, provider_id)
    start = starts_at.astimezone(UTC)
    provider = await _choose_provider(session, tenant, service, candidates, start, now, owner=owner)
    end = start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    await _lock_days(session, tenant, [(provider.id, start, blocked_until)])
    await _expire_stale_holds(session, caller, provider.id, start, blocked_until, now)
    hold = Hold(
        tenant_id=tenant.id,
        provider_id=provider.id,
        service_id=service.id,
        owner=owner,
        starts_at=start,
        ends_at=end,
        blocked_until=blocked_until,
        expires_at=now + timedelta(minutes=tenant.settings.hold_ttl_minutes),
        status="active",
    )
    session.add(hold)
    await _flush_or_taken(session)
    return hold


async def _choose_provider(
    session: AsyncSession,
    tenant: TenantContext,
    service: Service,
    candidates: list[Provider],
    start: datetime,
    now: datetime,
    *,
    owner: str | None,
    ignore_appointment: uuid.UUID | None = None,
) -> Provider:
    """The first candidate open and free at `start`; SlotUnavailable or SlotTaken otherwise."""
    if not candidates:
        raise SlotUnavailable(f"nobody currently offers {service.name}")
    rules = rules_for(tenant, service, now)
    blocked_until = start + rules.duration + rules.buffer
    calendars = await load_calendars(
        session,
        tenant,
        candidates,
        start,
        blocked_until,
        now,
        owner=owner,
        ignore_appointment=ignore_appointment,
    )
    reasons = []
    any_open = False
    for calendar in calendars:
        reason = why_not_bookable(start, calendar.hours, tenant.timezone, rules, calendar.closures)
        if reason is not None:
            reasons.append(reason)
            continue
        any_open = True
        if not overlaps(start, blocked_until, calendar.busy):
            return calendar.provider
    if any_open:
        raise SlotTaken(TAKEN_MESSAGE, details={"starts_at": start.astimezone(tenant.timezone).isoformat()})
    raise SlotUnavailable(reasons[0], details={"starts_at": start.astimezone(tenant.timezone).isoformat()})


async def _book_held_slot(
    session: AsyncSession,
    caller: Caller,
    hold: Hold,
    service: Service,
    customer_data: CustomerIn,
    notes: str,
    now: datetime,
) -> Appointment:
    """Turn `hold` into an appointment; the caller holds the provider-day lock already."""
    tenant = caller.tenant
    customer = await customers.find_or_create(session, tenant, customer_data)
    hold.status = "confirmed"
    await session.flush()
    appointment = Appointment(
        tenant_id=tenant.id,
        reference=await _new_reference(session, tenant),
        provider_id=hold.provider_id,
        service_id=service.id,
        customer_id=customer.id,
        starts_at=hold.starts_at,
        ends_at=hold.ends_at,
        blocked_until=hold.blocked_until,
        status="booked",
        notes=notes,
    )
    appointment.customer = customer
    appointment.service = service
    # Loaded earlier in this session when the provider was chosen, so this is no extra query.
    appointment.provider = await session.get_one(Provider, hold.provider_id)
    session.add(appointment)
    await _flush_or_taken(session)
    audit.record(
        session,
        caller,
        "appointment.booked",
        "appointment",
        appointment.id,
        {
            "reference": appointment.reference,
            "hold_id": str(hold.id),
            "provider_id": str(appointment.provider_id),
            "service_id": str(service.id),
            "starts_at": appointment.starts_at.isoformat(),
            "customer": {"name": customer.name, "phone": customer.phone, "email": customer.email},
            "notes": notes,
        },
    )
    await lifecycle.on_booked(session, caller, appointment, now)
    return appointment


async def _lock_days(
    session: AsyncSession, tenant: TenantContext, spans: list[tuple[uuid.UUID, datetime, datetime]]
) -> None:
    """Take the advisory lock of every (provider, local day) the spans touch, in one global order."""
    keys = set()
    for provider_id, start, end in spans:
        first = start.astimezone(tenant.timezone).date()
        last = (end - timedelta(microseconds=1)).astimezone(tenant.timezone).date()
        keys.update(_lock_key(provider_id, day) for day in days_between(first, last))
    for key in sorted(keys):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _lock_key(owner: uuid.UUID, scope: date | str) -> int:
    text_scope = scope.isoformat() if isinstance(scope, date) else scope
    digest = hashlib.blake2b(f"{owner}:{text_scope}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _expire_stale_holds(
    session: AsyncSession,
    caller: Caller,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    """Mark lapsed holds in the way as expired, so the EXCLUDE constraint on holds lets the new one in."""
    expired = await session.execute(
        update(Hold)
        .where(
            Hold.tenant_id == caller.tenant.id,
            Hold.provider_id == provider_id,
            Hold.status == "active",
            Hold.expires_at <= now,
            occupying_overlap(Hold, start, end),
        )
        .values(status="expired")
        .returning(Hold.id, Hold.owner, Hold.expires_at)
        .execution_options(synchronize_session=False)
    )
    for hold_id, owner, expired_at in expired:
        audit.record(session, caller, "hold.expired", "hold", hold_id, {"expired_at": expired_at.isoformat()})
        await lifecycle.on_hold_lapsed(session, caller.tenant, hold_id, owner, now)


async def _flush_or_taken(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        if sqlstate(error) == EXCLUSION_VIOLATION:
            raise SlotTaken(TAKEN_MESSAGE) from error
        raise


async def _new_reference(session: AsyncSession, tenant: TenantContext) -> str:
    for _ in range(10):
        reference = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        taken = await session.execute(
            select(Appointment.id).where(
                Appointment.tenant_id == tenant.id, Appointment.reference == reference
            )
        )
        if taken.first() is None:
            return reference
    raise RuntimeError("could not find a free booking reference")


def _encode_cursor(appointment: Appointment) -> str:
    raw = f"{appointment.starts_at.isoformat()}|{appointment.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        starts_at, appointment_id = raw.split("|")
        return datetime.fromisoformat(starts_at), uuid.UUID(appointment_id)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationFailed("cursor", "not a cursor returned by this endpoint") from error
