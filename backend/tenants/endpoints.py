"""The calling tenant's own account: its settings and its API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db, Now
from backend.tenants import api_keys
from backend.tenants import service as tenants
from backend.tenants.deps import TenantCaller
from backend.tenants.presenters import key_created, key_out, tenant_out
from backend.tenants.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, TenantOut, TenantSettingsPatch

router = APIRouter(prefix="/api/v1", tags=["tenant"])


@router.get("/tenant", response_model=TenantOut)
async def get_tenant(caller: TenantCaller) -> TenantOut:
    """The tenant this key belongs to, with its settings."""
    return tenant_out(caller.tenant)


@router.patch("/tenant/settings", response_model=TenantOut)
async def update_settings(body: TenantSettingsPatch, caller: TenantCaller, db: Db) -> TenantOut:
    """Change some settings (quiet hours, reminder offsets, review link …); the rest stay as they are."""

    async def work(session: AsyncSession) -> TenantOut:
        return tenant_out(await tenants.update_settings(session, caller, body.settings))

    return await db.transaction(work)


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_keys(caller: TenantCaller, db: Db) -> list[ApiKeyOut]:
    async def work(session: AsyncSession) -> list[ApiKeyOut]:
        return [key_out(key) for key in await api_keys.list_keys(session, caller.tenant.id)]

    return await db.transaction(work)


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_key(body: ApiKeyCreate, caller: TenantCaller, request: Request) -> JSONResponse:
    """Create a secret key, or a publishable key for the chat widget bound to allowed origins.

    The full key is in this response only; store it now.
    """

    async def work(session: AsyncSession) -> ApiKeyCreated:
        issued = await api_keys.create(session, caller, body.kind, body.name, body.allowed_origins)
        return key_created(issued)

    return await run_command(
        request, str(caller.tenant.id), work, status_code=201, isolation="READ COMMITTED"
    )


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
async def revoke_key(key_id: uuid.UUID, caller: TenantCaller, db: Db, now: Now) -> ApiKeyOut:
    """Revoke a key at once. Revoking twice is harmless; the last live secret key cannot be revoked."""

    async def work(session: AsyncSession) -> ApiKeyOut:
        return key_out(await api_keys.revoke(session, caller, key_id, now))

    return await db.transaction(work)
