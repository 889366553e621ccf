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

from sqlalchemy import DateTime, Select, Uuid, and_, bindparam, exists, func, or_, select
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
    statement = _ANY_PROVIDER if provider_id is None else _NAMED_PROVIDER
    params = {"tenant_id": tenant.id, "service_id": service_id, "start": start, "now": now}
    if provider_id is not None:
        params["provider_id"] = provider_id
    free_count, candidate_count = (await session.execute(statement, params)).one()
    if candidate_count and not free_count:
        raise SlotTaken(
            guards.TAKEN_MESSAGE, details={"starts_at": start.astimezone(tenant.timezone).isoformat()}
        )


def _free_and_candidates(named_provider: bool) -> Select[tuple[int, int]]:
    """(free candidates, candidates) at :start; built once, so each request only binds values."""
    start = bindparam("start", type_=DateTime(timezone=True))
    tenant_id = bindparam("tenant_id", type_=Uuid())
    service = (
        select(Service.id, Service.duration_minutes, Service.buffer_minutes)
        .where(Service.id == bindparam("service_id"), Service.tenant_id == tenant_id, Service.active)
        .cte("service")
    )
    end = start + func.make_interval(0, 0, 0, 0, 0, service.c.duration_minutes + service.c.buffer_minutes)
    wanted = func.tstzrange(start, end)
    linked = select(ServiceProvider.provider_id).where(ServiceProvider.service_id == service.c.id)
    candidates = (
        select(Provider.id, wanted.label("span"))
        .select_from(service)
        .join(Provider, Provider.tenant_id == tenant_id)
        .where(Provider.active, or_(~exists(linked), Provider.id.in_(linked)))
    )
    if named_provider:
        candidates = candidates.where(Provider.id == bindparam("provider_id"))
    candidates = candidates.cte("candidates")
    span = candidates.c.span
    now = bindparam("now", type_=DateTime(timezone=True))
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
    return select(free, total)


_ANY_PROVIDER = _free_and_candidates(named_provider=False)
_NAMED_PROVIDER = _free_and_candidates(named_provider=True)
