"""What a tenant offers: services, providers with their hours, closures, and free times."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars import busy as calendar_busy
from backend.core.commands import run_command
from backend.core.deps import AppSettings, Db, Now
from backend.core.schemas import Day, error_responses
from backend.scheduling import availability, catalog, external_ids
from backend.scheduling.models import Closure
from backend.scheduling.presenters import provider_out, service_out, slot_out
from backend.scheduling.schemas import AvailabilityOut, ClosureIn, ProviderOut, ServiceOut
from backend.tenants.deps import OwnerCaller, TenantCaller

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


class ClosureOut(BaseModel):
    id: uuid.UUID
    provider_id: uuid.UUID | None
    starts_at: str
    ends_at: str
    reason: str


def _closure_out(closure: Closure, caller: TenantCaller) -> ClosureOut:
    tz = caller.tenant.timezone
    return ClosureOut(
        id=closure.id,
        provider_id=closure.provider_id,
        starts_at=closure.starts_at.astimezone(tz).isoformat(),
        ends_at=closure.ends_at.astimezone(tz).isoformat(),
        reason=closure.reason,
    )


@router.get("/services", response_model=list[ServiceOut], responses=error_responses(401, 403, 422))
async def list_services(
    caller: TenantCaller,
    db: Db,
    include_inactive: Annotated[bool, Query(description="Also services no longer offered")] = False,
) -> list[ServiceOut]:
    async def work(session: AsyncSession) -> list[ServiceOut]:
        services, links = await catalog.list_services(session, caller.tenant, with_inactive=include_inactive)
        ids = await external_ids.of(session, caller.tenant, "service", [s.id for s in services])
        return [service_out(s, links.get(s.id, []), ids.get(s.id)) for s in services]

    return await db.transaction(work)


@router.get("/providers", response_model=list[ProviderOut])
async def list_providers(caller: TenantCaller, db: Db) -> list[ProviderOut]:
    async def work(session: AsyncSession) -> list[ProviderOut]:
        providers, hours = await catalog.list_providers(session, caller.tenant)
        ids = await external_ids.of(session, caller.tenant, "provider", [p.id for p in providers])
        return [provider_out(p, hours.get(p.id, []), ids.get(p.id)) for p in providers]

    return await db.transaction(work)


@router.get("/closures", response_model=list[ClosureOut])
async def list_closures(caller: TenantCaller, db: Db) -> list[ClosureOut]:
    async def work(session: AsyncSession) -> list[ClosureOut]:
        return [_closure_out(c, caller) for c in await catalog.list_closures(session, caller.tenant)]

    return await db.transaction(work)


@router.post(
    "/closures", status_code=201, response_model=ClosureOut, responses=error_responses(401, 403, 404, 422)
)
async def add_closure(body: ClosureIn, caller: OwnerCaller, request: Request) -> JSONResponse:
    """Close a provider (or, without one, the whole practice) for a period: holidays, training days.

    Existing appointments in the period are kept; list them with GET /bookings to contact the patients.
    """

    async def work(session: AsyncSession) -> ClosureOut:
        return _closure_out(await catalog.add_closure(session, caller, body), caller)

    return await run_command(
        request, str(caller.tenant.id), work, status_code=201, isolation="READ COMMITTED"
    )


@router.delete("/closures/{closure_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete_closure(closure_id: uuid.UUID, caller: OwnerCaller, db: Db) -> None:
    await db.transaction(lambda session: catalog.delete_closure(session, caller, closure_id))


@router.get("/availability", response_model=AvailabilityOut)
async def get_availability(
    caller: TenantCaller,
    db: Db,
    now: Now,
    settings: AppSettings,
    service_id: uuid.UUID,
    start: Annotated[Day, Query(alias="from", description="First local day (tenant's timezone)")],
    end: Annotated[
        Day | None, Query(alias="to", description="Last local day, inclusive; default: same day")
    ] = None,
    provider_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AvailabilityOut:
    """Free start times for a service, soonest first, over at most 31 days."""

    async def work(session: AsyncSession) -> AvailabilityOut:
        service, providers, slots = await availability.find_slots(
            session, caller.tenant, service_id, start, end or start, now, provider_id=provider_id, limit=limit
        )
        tz = caller.tenant.timezone
        stale = await calendar_busy.out_of_sync(
            session, caller.tenant.id, [p.id for p in providers], now, settings.calendar_stale_after_seconds
        )
        return AvailabilityOut(
            service_id=service.id,
            timezone=caller.tenant.timezone_name,
            slots=[slot_out(slot, tz) for slot in slots],
            out_of_sync_provider_ids=stale,
        )

    return await db.transaction(work)
