"""A booking for a time already taken, refused in one read before it queues for any lock.

Two hundred patients tapping the same freed slot must not line up behind the winner's locks to
learn it is gone: one statement, without locks, asks whether any provider who could take the
booking is free of appointments, live holds and calendar busy time then. Only "every candidate is
busy" refuses here; everything else (unknown service, outside hours, a time that looks free) goes
on to the full path and its guards, which decide.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars import busy as calendar_busy
from backend.core.context import TenantContext
from backend.core.errors import SlotTaken
from backend.scheduling import guards
from backend.scheduling.availability import OCCUPYING
from backend.scheduling.models import Appointment, Hold, Provider, Service, ServiceProvider


async def refuse_if_taken(
    session: AsyncSession,
    tenant: TenantContext,
    service_id: uuid.UUID,
    provider_id: uuid.UUID | None,
    starts_at: datetime,
    now: datetime,
) -> None:
    start = starts_at.astimezone(UTC)
    service = (
        select(Service.id, Service.duration_minutes, Service.buffer_minutes)
        .where(Service.id == service_id, Service.tenant_id == tenant.id, Service.active)
        .cte("service")
    )
    end = literal(start) + func.make_interval(
        0, 0, 0, 0, 0, service.c.duration_minutes + service.c.buffer_minutes
    )
    wanted = func.tstzrange(literal(start), end)
    linked = select(ServiceProvider.provider_id).where(ServiceProvider.service_id == service.c.id)
    candidates = (
        select(Provider.id, wanted.label("span"))
        .select_from(service)
        .join(Provider, Provider.tenant_id == tenant.id)
        .where(Provider.active, or_(~exists(linked), Provider.id.in_(linked)))
    )
    if provider_id is not None:
        candidates = candidates.where(Provider.id == provider_id)
    candidates = candidates.cte("candidates")
    span = candidates.c.span
    free = (
        select(func.count())
        .select_from(candidates)
        .where(
            ~exists().where(
                Appointment.provider_id == candidates.c.id,
                Appointment.status.in_(OCCUPYING),
                func.tstzrange(Appointment.starts_at, Appointment.blocked_until).op("&&")(span),
            ),
            ~exists().where(
                and_(Hold.provider_id == candidates.c.id, Hold.status == "active", Hold.expires_at > now),
                func.tstzrange(Hold.starts_at, Hold.blocked_until).op("&&")(span),
            ),
            ~calendar_busy.busy_during(candidates.c.id, span),
        )
        .scalar_subquery()
    )
    total = select(func.count()).select_from(candidates).scalar_subquery()
    free_count, candidate_count = (await session.execute(select(free, total))).one()
    if candidate_count and not free_count:
        raise SlotTaken(
            guards.TAKEN_MESSAGE, details={"starts_at": start.astimezone(tenant.timezone).isoformat()}
        )
