"""Holds: a time reserved for a few minutes while the patient's details are collected; placing one
(with the provider chosen and lapsed holds in the way expired), finding, releasing and expiring them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.context import Caller, TenantContext
from backend.core.errors import (
    Forbidden,
    NotFound,
    SlotTaken,
    SlotUnavailable,
)
from backend.core.event_catalogue import HoldExpired
from backend.messaging import lifecycle
from backend.scheduling import guards
from backend.scheduling.availability import (
    get_service,
    load_calendars,
    occupying_overlap,
    providers_for,
    rules_for,
)
from backend.scheduling.models import Hold, Provider, Service
from backend.scheduling.schemas import HoldCreate
from backend.scheduling.slots import overlaps, why_not_bookable


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
    hold = await own_hold(session, caller.tenant, hold_id, owner)
    if hold.status == "active":
        hold.status = "released"
        audit.record(session, caller, "hold.released", "hold", hold.id)
    return hold


async def renew_hold(
    session: AsyncSession, caller: Caller, hold_id: uuid.UUID, owner: str, now: datetime
) -> Hold | None:
    """The hold, kept for a hold's whole lifetime again from `now` (never longer than any new hold
    runs); None when it has already lapsed or was let go."""
    hold = await own_hold(session, caller.tenant, hold_id, owner)
    if hold.status != "active" or hold.expires_at <= now:
        return None
    hold.expires_at = now + timedelta(minutes=caller.tenant.settings.hold_ttl_minutes)
    renewed = {"expires_at": hold.expires_at.isoformat()}
    audit.record(session, caller, "hold.renewed", "hold", hold.id, renewed)
    return hold


async def own_hold(session: AsyncSession, tenant: TenantContext, hold_id: uuid.UUID, owner: str) -> Hold:
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
    provider = await choose_provider(session, tenant, service, candidates, start, now, owner=owner)
    end = start + timedelta(minutes=service.duration_minutes)
    blocked_until = end + timedelta(minutes=service.buffer_minutes)
    await guards.lock_days(session, tenant, [(provider.id, start, blocked_until)])
    await expire_stale_holds(session, caller, provider.id, start, blocked_until, now)
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
    await guards.flush_or_taken(session)
    return hold


async def choose_provider(
    session: AsyncSession,
    tenant: TenantContext,
    service: Service,
    candidates: list[Provider],
    start: datetime,
    now: datetime,
    *,
    owner: str | None,
    ignore_appointment: uuid.UUID | None = None,
    read_busy: bool = True,
) -> Provider:
    """The first candidate open and free at `start`; SlotUnavailable or SlotTaken otherwise.

    Without `read_busy` only opening hours and closures are read and the first open candidate is
    chosen: the caller's write meets the EXCLUDE constraints and triggers, which then say taken.
    """
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
        with_busy=read_busy,
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
        raise SlotTaken(
            guards.TAKEN_MESSAGE, details={"starts_at": start.astimezone(tenant.timezone).isoformat()}
        )
    raise SlotUnavailable(reasons[0], details={"starts_at": start.astimezone(tenant.timezone).isoformat()})


async def expire_stale_holds(
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
        .returning(Hold)
        .execution_options(synchronize_session=False)
    )
    for hold in expired.scalars().all():
        record_expiry(session, caller, hold)
        await lifecycle.on_hold_lapsed(session, caller.tenant, hold.id, hold.owner, now)


async def give_way(
    session: AsyncSession,
    caller: Caller,
    provider_id: uuid.UUID,
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    """Release the live holds over [start, end): the clinic's own system booked that time, and it
    decides. Whoever held it hears "just taken" when they confirm, as after any lost race."""
    released = await session.execute(
        update(Hold)
        .where(
            Hold.tenant_id == caller.tenant.id,
            Hold.provider_id == provider_id,
            Hold.status == "active",
            # Live by our clock or by the database's (its trigger's), whichever says so.
            Hold.expires_at > func.least(now, func.now()),
            occupying_overlap(Hold, start, end),
        )
        .values(status="released")
        .returning(Hold.id)
        .execution_options(synchronize_session=False)
    )
    for hold_id in released.scalars().all():
        audit.record(
            session, caller, "hold.released", "hold", hold_id, {"reason": "booked in the clinic's own system"}
        )


def record_expiry(session: AsyncSession, caller: Caller, hold: Hold) -> None:
    audit.record(
        session, caller, "hold.expired", "hold", hold.id, {"expired_at": hold.expires_at.isoformat()}
    )
    events.emit(
        session,
        caller,
        HoldExpired(
            hold_id=hold.id,
            provider_id=hold.provider_id,
            service_id=hold.service_id,
            starts_at=hold.starts_at,
            ends_at=hold.ends_at,
        ),
    )


@dataclass(frozen=True)
class Lapsed:
    """A hold that ran out, as a follow-up message needs it."""

    hold: Hold
    service_name: str
    # The same session held or booked another time since: nothing to follow up.
    moved_on: bool


async def lapsed(session: AsyncSession, tenant: TenantContext, hold_id: uuid.UUID, now: datetime) -> Lapsed:
    hold = (
        await session.execute(select(Hold).where(Hold.tenant_id == tenant.id, Hold.id == hold_id))
    ).scalar_one()
    later = await session.execute(
        select(Hold.id).where(
            Hold.tenant_id == tenant.id,
            Hold.owner == hold.owner,
            Hold.created_at > hold.created_at,
            (Hold.status == "confirmed") | ((Hold.status == "active") & (Hold.expires_at > now)),
        )
    )
    moved_on = later.first() is not None
    service = await session.get_one(Service, hold.service_id)
    return Lapsed(hold, service.name, moved_on)


async def expire_lapsed(session: AsyncSession, now: datetime) -> list[Hold]:
    """Mark every hold whose time ran out as expired (the caller records each expiry)."""
    rows = await session.execute(
        update(Hold)
        .where(Hold.status == "active", Hold.expires_at <= now)
        .values(status="expired")
        .returning(Hold)
        .execution_options(synchronize_session=False)
    )
    return list(rows.scalars().all())


async def labels(session: AsyncSession, hold: Hold) -> tuple[str, str]:
    """The names of a hold's service and provider, as the patient is told them."""
    service = await session.get_one(Service, hold.service_id)
    provider = await session.get_one(Provider, hold.provider_id)
    return service.name, provider.name
