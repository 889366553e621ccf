"""Changing what a clinic offers: providers, their weekly hours (breaks are the gaps), services.
Owners only; each change is audited and leaves booked appointments as they are."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db
from backend.core.schemas import error_responses
from backend.scheduling import catalog_changes, external_ids
from backend.scheduling.presenters import provider_out, service_out
from backend.scheduling.schemas import (
    ProviderIn,
    ProviderOut,
    ProviderPatch,
    ServiceIn,
    ServiceOut,
    ServicePatch,
    WeekHoursIn,
)
from backend.tenants.deps import OwnerCaller

router = APIRouter(prefix="/api/v1", tags=["catalogue"])

_WRITE_ERRORS = error_responses(401, 403, 404, 409, 422, status_409="The name is taken by another one")


@router.post("/providers", status_code=201, response_model=ProviderOut, responses=_WRITE_ERRORS)
async def add_provider(body: ProviderIn, caller: OwnerCaller, request: Request) -> JSONResponse:
    """A new provider (a person or a room) with its weekly hours."""

    async def work(session: AsyncSession) -> ProviderOut:
        provider = await catalog_changes.add_provider(session, caller, body)
        return provider_out(provider, await catalog_changes.hours_of(session, provider.id))

    return await run_command(request, f"provider:{caller.tenant.id}", work, status_code=201)


@router.patch("/providers/{provider_id}", response_model=ProviderOut, responses=_WRITE_ERRORS)
async def change_provider(
    provider_id: uuid.UUID, body: ProviderPatch, caller: OwnerCaller, db: Db
) -> ProviderOut:
    """Rename, switch off (`active: false`: no new bookings, existing ones stay), or set the ids your
    own systems use for it (`external_ids`), by which their appointments name it."""

    async def work(session: AsyncSession) -> ProviderOut:
        provider = await catalog_changes.change_provider(session, caller, provider_id, body)
        ids = await external_ids.of(session, caller.tenant, "provider", [provider.id])
        return provider_out(provider, await catalog_changes.hours_of(session, provider.id), ids[provider.id])

    return await db.transaction(work)


@router.put("/providers/{provider_id}/hours", response_model=ProviderOut, responses=_WRITE_ERRORS)
async def set_hours(provider_id: uuid.UUID, body: WeekHoursIn, caller: OwnerCaller, db: Db) -> ProviderOut:
    """Replace the provider's whole week. Two intervals on a day make a break between them
    (`09:00 to 12:00` and `13:00 to 17:00`: lunch from 12 to 1); an empty list closes every day."""

    async def work(session: AsyncSession) -> ProviderOut:
        hours = await catalog_changes.set_hours(session, caller, provider_id, body.hours)
        return provider_out(await catalog_changes.find_provider(session, caller, provider_id), hours)

    return await db.transaction(work)


@router.post("/services", status_code=201, response_model=ServiceOut, responses=_WRITE_ERRORS)
async def add_service(body: ServiceIn, caller: OwnerCaller, request: Request) -> JSONResponse:
    """A new service: duration, buffer after it, aliases patients use, who gives it."""

    async def work(session: AsyncSession) -> ServiceOut:
        return service_out(*await catalog_changes.add_service(session, caller, body))

    return await run_command(request, f"service:{caller.tenant.id}", work, status_code=201)


@router.patch("/services/{service_id}", response_model=ServiceOut, responses=_WRITE_ERRORS)
async def change_service(
    service_id: uuid.UUID, body: ServicePatch, caller: OwnerCaller, db: Db
) -> ServiceOut:
    """Change any of its fields; `active: false` stops offering it (past bookings stay)."""

    async def work(session: AsyncSession) -> ServiceOut:
        service, linked = await catalog_changes.change_service(session, caller, service_id, body)
        ids = await external_ids.of(session, caller.tenant, "service", [service.id])
        return service_out(service, linked, ids[service.id])

    return await db.transaction(work)
