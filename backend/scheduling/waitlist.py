"""The waiting list: joining it; offering a freed time to the first patient it fits (an exclusive hold
and a link), withdrawing or closing an offer; and the offer seen from the patient's side: the link in
the message, and taking it. Which patient is told, and how, is the messaging lifecycle's business."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from agent.understanding import PARTS_OF_DAY
from backend.core import audit, events
from backend.core.context import Caller, TenantContext
from backend.core.errors import HoldExpired, NotFound
from backend.core.event_catalogue import WaitlistAccepted, WaitlistOffered, WaitlistOfferExpired
from backend.customers import service as customers
from backend.customers.schemas import CustomerIn
from backend.scheduling import booking, holds
from backend.scheduling.models import Appointment, Hold, Provider, Service, WaitlistEntry
from backend.scheduling.schemas import HoldConfirm
from backend.tenants import service as tenants


def offer_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Offer:
    tenant: TenantContext
    entry_id: uuid.UUID
    status: str  # open | expired | booked
    service: str
    provider: str
    starts_at: datetime
    expires_at: datetime
    reference: str | None = None


async def tenant_of(session: AsyncSession, token: str) -> uuid.UUID:
    tenant_id = (
        await session.execute(
            select(WaitlistEntry.tenant_id).where(WaitlistEntry.offer_token_hash == offer_token_hash(token))
        )
    ).scalar_one_or_none()
    if tenant_id is None:
        raise NotFound("this offer link is not valid (it may have been replaced by a newer offer)")
    return tenant_id


async def find(session: AsyncSession, token: str, now: datetime) -> Offer:
    row = (
        await session.execute(
            select(WaitlistEntry, Hold, Service, Provider)
            .join(Hold, Hold.id == WaitlistEntry.offer_hold_id)
            .join(Service, Service.id == Hold.service_id)
            .join(Provider, Provider.id == Hold.provider_id)
            .where(WaitlistEntry.offer_token_hash == offer_token_hash(token))
        )
    ).first()
    if row is None:
        raise NotFound("this offer link is not valid (it may have been replaced by a newer offer)")
    entry, hold, service, provider = row
    tenant = await tenants.get_context(session, entry.tenant_id)
    reference = None
    if entry.status == "booked":
        status = "booked"
        reference = (
            await session.execute(
                select(Appointment.reference).where(
                    Appointment.tenant_id == entry.tenant_id,
                    Appointment.customer_id == entry.customer_id,
                    Appointment.starts_at == hold.starts_at,
                )
            )
        ).scalar_one_or_none()
    elif hold.status == "active" and hold.expires_at > now:
        status = "open"
    else:
        status = "expired"
    return Offer(
        tenant, entry.id, status, service.name, provider.name, hold.starts_at, hold.expires_at, reference
    )


async def accept(session: AsyncSession, token: str, now: datetime) -> Offer:
    """Book the offered time for the waiting patient. Taking it twice is taking it once."""
    entry = (
        await session.execute(
            select(WaitlistEntry)
            .where(WaitlistEntry.offer_token_hash == offer_token_hash(token))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if entry is None or entry.offer_hold_id is None:
        raise NotFound("this offer link is not valid (it may have been replaced by a newer offer)")
    if entry.status != "booked":
        tenant = await tenants.get_context(session, entry.tenant_id)
        hold = await session.get_one(Hold, entry.offer_hold_id)
        if hold.status != "active" or hold.expires_at <= now:
            raise HoldExpired("sorry, this offer has expired and the time has gone to the next patient")
        customer = await customers.get(session, entry.customer_id)
        caller = Caller(tenant, f"waitlist:{entry.id}", f"offer:{entry.id}")
        details = CustomerIn(
            name=customer.name,
            phone=customer.phone,
            email=customer.email,
            sms_consent=customer.sms_consent,
            email_consent=customer.email_consent,
        )
        appointment = await booking.confirm_hold(
            session, caller, hold.id, HoldConfirm(customer=details, session_key=hold.owner), now
        )
        entry.status = "booked"
        audit.record(session, caller, "waitlist.offer_taken", "waitlist_entry", entry.id)
        events.emit(session, caller, WaitlistAccepted(**_about(entry), appointment_id=appointment.id))
    await session.flush()
    return await find(session, token, now)


# ---- joining, and offering a freed time ----


async def join(
    session: AsyncSession,
    caller: Caller,
    service: Service,
    customer_id: uuid.UUID,
    days: tuple[date, date],
    part_of_day: str | None,
    conversation_id: uuid.UUID | None,
) -> WaitlistEntry:
    first_day, last_day = days
    entry = WaitlistEntry(
        tenant_id=caller.tenant.id,
        customer_id=customer_id,
        service_id=service.id,
        first_day=first_day,
        last_day=last_day,
        part_of_day=part_of_day,
        conversation_id=conversation_id,
    )
    session.add(entry)
    await session.flush()
    audit.record(
        session,
        caller,
        "waitlist.joined",
        "waitlist_entry",
        entry.id,
        {"service_id": str(service.id), "first_day": first_day.isoformat(), "last_day": last_day.isoformat()},
    )
    return entry


async def waiting_for(
    session: AsyncSession, tenant: TenantContext, service_id: uuid.UUID, starts_at: datetime
) -> list[tuple[WaitlistEntry, Service]]:
    """Waiting entries whose days and part of the day include a freed time, first come first served
    (the freed visit's own service first: it surely fits); each with its customer loaded."""
    local = starts_at.astimezone(tenant.timezone)
    rows = await session.execute(
        select(WaitlistEntry, Service)
        .options(joinedload(WaitlistEntry.customer, innerjoin=True))
        .join(Service, Service.id == WaitlistEntry.service_id)
        .where(
            WaitlistEntry.tenant_id == tenant.id,
            WaitlistEntry.status == "waiting",
            WaitlistEntry.first_day <= local.date(),
            WaitlistEntry.last_day >= local.date(),
        )
        .order_by((WaitlistEntry.service_id != service_id), WaitlistEntry.created_at)
    )
    fitting = []
    for entry, service in rows.all():
        span = PARTS_OF_DAY.get(entry.part_of_day or "")
        if span is None or span[0] <= local.time() < span[1]:
            fitting.append((entry, service))
    return fitting


@dataclass(frozen=True)
class OfferMade:
    hold: Hold
    token: str  # for the link; only its hash is stored
    provider_name: str


async def offer(
    session: AsyncSession,
    caller: Caller,
    entry: WaitlistEntry,
    service: Service,
    provider_id: uuid.UUID,
    starts_at: datetime,
    now: datetime,
) -> OfferMade:
    """Hold the freed time for this patient alone, for the tenant's offer minutes. Raises like
    placing a hold does (SLOT_TAKEN: somebody booked it first)."""
    async with session.begin_nested():
        hold = await holds.place_hold(
            session, caller, service, provider_id, starts_at, f"waitlist:{entry.id}", now
        )
    hold.expires_at = now + timedelta(minutes=caller.tenant.settings.waitlist_offer_minutes)
    token = secrets.token_urlsafe(16)  # 22 characters: the link must fit in one SMS
    entry.status = "offered"
    entry.offer_hold_id = hold.id
    entry.offer_token_hash = offer_token_hash(token)
    provider = await session.get_one(Provider, hold.provider_id)
    return OfferMade(hold, token, provider.name)


def announce(session: AsyncSession, caller: Caller, entry: WaitlistEntry, hold: Hold) -> None:
    """The offer went out: the patient has the time to themselves until the hold expires."""
    audit.record(session, caller, "waitlist.offered", "waitlist_entry", entry.id, {"hold_id": str(hold.id)})
    offered = WaitlistOffered(
        **_about(entry),
        hold_id=hold.id,
        provider_id=hold.provider_id,
        starts_at=hold.starts_at,
        expires_at=hold.expires_at,
    )
    events.emit(session, caller, offered)


def _about(entry: WaitlistEntry) -> dict[str, uuid.UUID]:
    return {"waitlist_entry_id": entry.id, "customer_id": entry.customer_id, "service_id": entry.service_id}


def withdraw(entry: WaitlistEntry, hold: Hold) -> None:
    """The offer could not be sent: the time is free again and the patient keeps their place."""
    hold.status = "released"
    entry.status = "waiting"
    entry.offer_hold_id = entry.offer_token_hash = None


async def close_offer(session: AsyncSession, caller: Caller, entry_id: uuid.UUID) -> bool:
    """Close an offer whose time is up: True if it was booked; otherwise release its hold."""
    entry = (
        await session.execute(
            select(WaitlistEntry)
            .where(WaitlistEntry.tenant_id == caller.tenant.id, WaitlistEntry.id == entry_id)
            .with_for_update()
        )
    ).scalar_one()
    if entry.status == "booked":
        return True
    if entry.offer_hold_id is not None:
        await session.execute(
            update(Hold)
            .where(Hold.id == entry.offer_hold_id, Hold.status == "active")
            .values(status="expired")
        )
        audit.record(session, caller, "waitlist.offer_expired", "waitlist_entry", entry.id)
        events.emit(session, caller, WaitlistOfferExpired(**_about(entry)))
    if entry.status == "offered":
        entry.status = "waiting"
    entry.offer_hold_id = None
    entry.offer_token_hash = None
    return False
