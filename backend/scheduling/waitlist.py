"""A waitlist offer seen from the patient's side: the link in the offer message, and taking it."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.errors import HoldExpired, NotFound
from backend.customers.models import Customer
from backend.customers.schemas import CustomerIn
from backend.scheduling import booking
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
        customer = await session.get_one(Customer, entry.customer_id)
        caller = Caller(tenant, f"waitlist:{entry.id}", f"offer:{entry.id}")
        details = CustomerIn(
            name=customer.name,
            phone=customer.phone,
            email=customer.email,
            sms_consent=customer.sms_consent,
            email_consent=customer.email_consent,
        )
        await booking.confirm_hold(
            session, caller, hold.id, HoldConfirm(customer=details, session_key=hold.owner), now
        )
        entry.status = "booked"
        audit.record(session, caller, "waitlist.offer_taken", "waitlist_entry", entry.id)
    await session.flush()
    return await find(session, token, now)
