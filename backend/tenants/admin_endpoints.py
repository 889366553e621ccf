"""Operator endpoints, guarded by the server's admin secret."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.context import Caller, TenantContext
from backend.core.deps import Admin, CorrelationId, current_time
from backend.core.errors import NotFound
from backend.scheduling.presenters import provider_out, service_out
from backend.tenants import api_keys, staff
from backend.tenants import service as tenants
from backend.tenants.models import Tenant
from backend.tenants.presenters import key_created, tenant_out
from backend.tenants.schemas import ApiKeyCreate, ApiKeyCreated, TenantCreate, TenantCreated

router = APIRouter(prefix="/api/v1/tenants", tags=["admin"], dependencies=[Admin])


@router.post("", status_code=201, response_model=TenantCreated)
async def create_tenant(body: TenantCreate, request: Request, correlation: CorrelationId) -> JSONResponse:
    """Create a tenant with its providers, hours, services and closures; returns its first secret key
    once. With `owner`, its first owner is invited by e-mail to the workspace (the link is in the
    response too)."""

    async def work(session: AsyncSession) -> TenantCreated:
        created = await tenants.create_tenant(session, body, "admin", correlation)
        catalogue = created.catalogue
        invite_url = None
        if body.owner is not None:
            caller = Caller(TenantContext.of(created.tenant), "admin", correlation)
            settings = request.app.state.settings
            _, invite_url = await staff.invite(
                session, caller, settings, body.owner.email, body.owner.name, "owner", current_time()
            )
        return TenantCreated(
            tenant=tenant_out(TenantContext.of(created.tenant)),
            providers=[provider_out(p, catalogue.hours.get(p.id, [])) for p in catalogue.providers],
            services=[service_out(s, catalogue.service_providers[s.id]) for s in catalogue.services],
            api_key=key_created(created.api_key),
            owner_invite_url=invite_url,
        )

    return await run_command(request, "admin", work, status_code=201)


@router.post("/{tenant_id}/api-keys", status_code=201, response_model=ApiKeyCreated)
async def issue_key(
    tenant_id: uuid.UUID, body: ApiKeyCreate, request: Request, correlation: CorrelationId
) -> JSONResponse:
    """Issue a key for a tenant that has lost its own (account recovery)."""

    async def work(session: AsyncSession) -> ApiKeyCreated:
        tenant = await session.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found", details={"tenant_id": str(tenant_id)})
        caller = Caller(tenant=TenantContext.of(tenant), actor="admin", correlation_id=correlation)
        issued = await api_keys.create(session, caller, body.kind, body.name, body.allowed_origins)
        return key_created(issued)

    return await run_command(request, "admin", work, status_code=201)
