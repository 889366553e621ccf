"""Operator endpoints, guarded by the server's admin secret."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api import presenters
from backend.api.commands import run_command
from backend.api.deps import Admin, CorrelationId
from backend.errors import NotFound
from backend.models import Tenant
from backend.schemas import ApiKeyCreate, ApiKeyCreated, TenantCreate, TenantCreated
from backend.services import api_keys, tenants
from backend.services.context import Caller, TenantContext

router = APIRouter(prefix="/api/v1/tenants", tags=["admin"], dependencies=[Admin])


@router.post("", status_code=201, response_model=TenantCreated)
async def create_tenant(body: TenantCreate, request: Request, correlation: CorrelationId) -> JSONResponse:
    """Create a tenant with its providers, hours, services and closures; returns its first secret key once."""

    async def work(session: AsyncSession) -> TenantCreated:
        created = await tenants.create_tenant(session, body, "admin", correlation)
        return TenantCreated(
            tenant=presenters.tenant_out(TenantContext.of(created.tenant)),
            providers=[presenters.provider_out(p, created.hours.get(p.id, [])) for p in created.providers],
            services=[presenters.service_out(s, created.service_providers[s.id]) for s in created.services],
            api_key=presenters.key_created(created.api_key),
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
        return presenters.key_created(issued)

    return await run_command(request, "admin", work, status_code=201)
