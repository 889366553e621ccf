"""Finding appointments: a page of them in start order, the first still ahead of a list, and the
late notices of the ones a list of references names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import cursors
from backend.core.context import TenantContext
from backend.customers import service as customers
from backend.scheduling.models import Appointment


@dataclass(frozen=True)
class LateNotice:
    """A patient said they are running late for this appointment (`minutes` None: not how late)."""

    reference: str
    minutes: int | None
    noticed_at: datetime


async def late_notices(
    session: AsyncSession, tenant: TenantContext, references: set[str], now: datetime
) -> dict[str, LateNotice]:
    """The late notices of the appointments these references name, while the visit is still on
    (not over, not cancelled), by reference."""
    if not references:
        return {}
    rows = await session.execute(
        select(Appointment.reference, Appointment.late_minutes, Appointment.late_noticed_at).where(
            Appointment.tenant_id == tenant.id,
            Appointment.reference.in_(sorted(references)),
            Appointment.late_noticed_at.is_not(None),
            Appointment.status.in_(("booked", "confirmed", "arrived")),
            Appointment.ends_at > now,
        )
    )
    return {
        reference: LateNotice(reference, minutes or None, noticed_at)
        for reference, minutes, noticed_at in rows.all()
    }


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
        normalized = (
            customers.normalize_phone(phone, tenant.settings.default_country, field="phone")
            if phone
            else None
        )
        query = query.where(Appointment.customer_id.in_(customers.with_contact(tenant.id, normalized, email)))
    if cursor is not None:
        after_start, after_id = cursors.decode_uuid(cursor)
        query = query.where(
            (Appointment.starts_at > after_start)
            | ((Appointment.starts_at == after_start) & (Appointment.id > after_id))
        )
    query = query.order_by(Appointment.starts_at, Appointment.id).limit(limit + 1)
    rows = list((await session.execute(query)).scalars().unique())
    next_cursor = cursors.encode(rows[limit - 1].starts_at, rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def first_upcoming(
    session: AsyncSession, tenant: TenantContext, appointment_ids: list[uuid.UUID], now: datetime
) -> tuple[uuid.UUID, str] | None:
    """Of these appointments, in their order, the first still booked or confirmed and still ahead:
    (id, reference)."""
    if not appointment_ids:
        return None
    rows = await session.execute(
        select(Appointment.id, Appointment.reference).where(
            Appointment.tenant_id == tenant.id,
            Appointment.id.in_(appointment_ids),
            Appointment.status.in_(("booked", "confirmed")),
            Appointment.starts_at > now,
        )
    )
    upcoming = dict(rows.all())
    return next(((i, upcoming[i]) for i in appointment_ids if i in upcoming), None)


async def starts_of(session: AsyncSession, appointment_ids: set[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """When each of these appointments starts (ids come from the caller's own tenant-scoped rows)."""
    if not appointment_ids:
        return {}
    rows = await session.execute(
        select(Appointment.id, Appointment.starts_at).where(Appointment.id.in_(sorted(appointment_ids)))
    )
    return dict(rows.all())


async def unconfirmed_soon(
    session: AsyncSession, tenant: TenantContext, now: datetime, within: timedelta = timedelta(hours=24)
) -> list[Appointment]:
    """Visits starting within `within` whose patient has not confirmed: the ones staff call."""
    found = await session.scalars(
        select(Appointment)
        .where(
            Appointment.tenant_id == tenant.id,
            Appointment.status == "booked",
            Appointment.starts_at > now,
            Appointment.starts_at <= now + within,
        )
        .order_by(Appointment.starts_at)
        .limit(200)
    )
    return list(found)
