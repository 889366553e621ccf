"""Availability: the free start times of a service, from the calendars stored in PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, DateTime, bindparam, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars import busy as calendar_busy
from backend.core.context import TenantContext
from backend.core.errors import NotFound, ValidationFailed
from backend.scheduling.models import (
    Appointment,
    Closure,
    Hold,
    Provider,
    Service,
    ServiceProvider,
    WeeklyHours,
)
from backend.scheduling.slots import BookingRules, OpenHours, Range, days_between, free_slots, to_utc

MAX_WINDOW_DAYS = 31
OCCUPYING = ("booked", "confirmed")
TIMES = ARRAY(DateTime(timezone=True))


@dataclass
class Calendar:
    """What one provider's bookable time depends on, over a window."""

    provider: Provider
    hours: list[OpenHours] = field(default_factory=list)
    closures: list[Range] = field(default_factory=list)
    busy: list[Range] = field(default_factory=list)


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    provider: Provider


def occupying_overlap(
    model: type[Appointment] | type[Hold], start: datetime, end: datetime
) -> ColumnElement[bool]:
    """`model`'s occupied range overlaps [start, end), written so the GiST exclusion index serves it.

    Under SERIALIZABLE every read leaves predicate locks; an index scan on the GiST index locks only
    the pages it touched, where a btree range on starts_at would lock everything before `end` and
    turn unrelated bookings into serialization failures.
    """
    return func.tstzrange(model.starts_at, model.blocked_until).op("&&")(func.tstzrange(start, end))


# The statements every booking and search runs, built once: building them cost more than running them.
_SERVICE = select(Service).where(
    Service.id == bindparam("service_id"), Service.tenant_id == bindparam("tenant_id"), Service.active
)
_LINKED = select(ServiceProvider.provider_id).where(ServiceProvider.service_id == bindparam("service_id"))
_PROVIDERS = (
    select(Provider)
    .where(Provider.tenant_id == bindparam("tenant_id"), Provider.active)
    .where(or_(~exists(_LINKED), Provider.id.in_(_LINKED)))
    .order_by(Provider.id)
)
_NAMED_PROVIDER = _PROVIDERS.where(Provider.id == bindparam("provider_id"))
_HOURS = select(WeeklyHours).where(
    WeeklyHours.tenant_id == bindparam("tenant_id"),
    WeeklyHours.provider_id.in_(bindparam("ids", expanding=True)),
)
_CLOSURES = select(Closure).where(
    Closure.tenant_id == bindparam("tenant_id"),
    or_(Closure.provider_id.in_(bindparam("ids", expanding=True)), Closure.provider_id.is_(None)),
    Closure.starts_at < bindparam("end"),
    Closure.ends_at > bindparam("start"),
)


async def get_service(session: AsyncSession, tenant: TenantContext, service_id: uuid.UUID) -> Service:
    found = await session.execute(_SERVICE, {"service_id": service_id, "tenant_id": tenant.id})
    service = found.scalar_one_or_none()
    if service is None:
        raise NotFound(f"service {service_id} not found", details={"service_id": str(service_id)})
    return service


async def providers_for(
    session: AsyncSession, tenant: TenantContext, service: Service, provider_id: uuid.UUID | None = None
) -> list[Provider]:
    """The active providers offering `service` (all of them when none are linked), by id order."""
    params = {"tenant_id": tenant.id, "service_id": service.id}
    if provider_id is None:
        return list((await session.execute(_PROVIDERS, params)).scalars())
    named = await session.execute(_NAMED_PROVIDER, {**params, "provider_id": provider_id})
    providers = list(named.scalars())
    if not providers:
        raise NotFound(
            f"provider {provider_id} not found or does not offer {service.name}",
            details={"provider_id": str(provider_id)},
        )
    return providers


def rules_for(tenant: TenantContext, service: Service, now: datetime) -> BookingRules:
    settings = tenant.settings
    return BookingRules(
        duration=timedelta(minutes=service.duration_minutes),
        buffer=timedelta(minutes=service.buffer_minutes),
        step=timedelta(minutes=settings.slot_step_minutes),
        earliest_start=now + timedelta(minutes=settings.min_lead_minutes),
        last_day=now.astimezone(tenant.timezone).date() + timedelta(days=settings.max_days_ahead),
    )


async def load_calendars(
    session: AsyncSession,
    tenant: TenantContext,
    providers: list[Provider],
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    owner: str | None = None,
    ignore_appointment: uuid.UUID | None = None,
    with_busy: bool = True,
) -> list[Calendar]:
    """Hours, closures and (`with_busy`) busy ranges of `providers` between `start` and `end`.

    Busy means occupying appointments, other owners' live holds and the busy time of connected
    calendars; `owner`'s own holds and the appointment being moved do not block.
    """
    calendars = {p.id: Calendar(provider=p) for p in providers}
    ids = list(calendars)
    for row in (await session.execute(_HOURS, {"tenant_id": tenant.id, "ids": ids})).scalars():
        calendars[row.provider_id].hours.append(OpenHours(row.weekday, row.opens_at, row.closes_at))

    window = {"tenant_id": tenant.id, "ids": ids, "start": start, "end": end}
    for closure in (await session.execute(_CLOSURES, window)).scalars():
        targets = [closure.provider_id] if closure.provider_id else ids
        for provider_id in targets:
            calendars[provider_id].closures.append((closure.starts_at, closure.ends_at))
    if not with_busy:
        return list(calendars.values())

    appointments = select(Appointment.provider_id, Appointment.starts_at, Appointment.blocked_until).where(
        Appointment.tenant_id == tenant.id,
        Appointment.provider_id.in_(ids),
        Appointment.status.in_(OCCUPYING),
        occupying_overlap(Appointment, start, end),
    )
    if ignore_appointment is not None:
        appointments = appointments.where(Appointment.id != ignore_appointment)
    holds = select(Hold.provider_id, Hold.starts_at, Hold.blocked_until).where(
        Hold.tenant_id == tenant.id,
        Hold.provider_id.in_(ids),
        Hold.status == "active",
        Hold.expires_at > now,
        occupying_overlap(Hold, start, end),
    )
    if owner is not None:
        holds = holds.where(Hold.owner != owner)
    external = calendar_busy.overlapping(tenant.id, ids, start, end)
    for provider_id, busy_start, busy_end in await session.execute(appointments.union_all(holds, external)):
        calendars[provider_id].busy.append((busy_start, busy_end))
    return list(calendars.values())


def local_day_bounds(tenant: TenantContext, first: date, last: date) -> tuple[datetime, datetime]:
    tz = tenant.timezone
    return to_utc(datetime.combine(first, time.min), tz), to_utc(
        datetime.combine(last + timedelta(days=1), time.min), tz
    )


async def find_slots(
    session: AsyncSession,
    tenant: TenantContext,
    service_id: uuid.UUID,
    first_day: date,
    last_day: date,
    now: datetime,
    *,
    provider_id: uuid.UUID | None = None,
    owner: str | None = None,
    limit: int | None = None,
) -> tuple[Service, list[Provider], list[Slot]]:
    """The service, the providers who offer it (whether free or not) and their free slots."""
    if last_day < first_day:
        raise ValidationFailed("to", "the end date must not be before the start date")
    if (last_day - first_day).days >= MAX_WINDOW_DAYS:
        raise ValidationFailed("to", f"search at most {MAX_WINDOW_DAYS} days at a time")
    service = await get_service(session, tenant, service_id)
    providers = await providers_for(session, tenant, service, provider_id)
    rules = rules_for(tenant, service, now)
    start, end = local_day_bounds(tenant, first_day, last_day)
    calendars = await load_calendars(session, tenant, providers, start, end + rules.buffer, now, owner=owner)
    days = list(days_between(first_day, last_day))
    slots = [
        Slot(starts_at=slot_start, ends_at=slot_start + rules.duration, provider=calendar.provider)
        for calendar in calendars
        for slot_start in free_slots(
            days, calendar.hours, tenant.timezone, rules, calendar.busy, calendar.closures
        )
    ]
    slots.sort(key=lambda slot: (slot.starts_at, slot.provider.name))
    return service, providers, slots[:limit] if limit else slots


async def appointments_over(
    session: AsyncSession, tenant: TenantContext, provider_id: uuid.UUID, ranges: list[Range], now: datetime
) -> list[tuple[uuid.UUID, int]]:
    """Upcoming occupying appointments of a provider that overlap any of `ranges`: (appointment
    id, index of the range), for busy time that arrived from a connected calendar. Appointments
    from the clinic's own system are left out: busy time over one is that visit, mirrored."""
    if not ranges:
        return []
    spans = select(
        # Each list is one bound array: thousands of ranges stay one parameter each.
        func.unnest(literal([start for start, _ in ranges], TIMES)).label("starts"),
        func.unnest(literal([end for _, end in ranges], TIMES)).label("ends"),
        func.generate_series(0, len(ranges) - 1).label("position"),
    ).subquery()
    rows = await session.execute(
        select(Appointment.id, spans.c.position)
        .join(
            spans,
            func.tstzrange(Appointment.starts_at, Appointment.blocked_until).op("&&")(
                func.tstzrange(spans.c.starts, spans.c.ends)
            ),
        )
        .where(
            Appointment.tenant_id == tenant.id,
            Appointment.provider_id == provider_id,
            Appointment.status.in_(OCCUPYING),
            Appointment.blocked_until > now,
            Appointment.external_id.is_(None),
        )
    )
    return [(appointment_id, position) for appointment_id, position in rows]
