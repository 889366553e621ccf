"""The calling tenant's own account: its settings and its API keys."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db, Now
from backend.core.schemas import error_responses
from backend.tenants import api_keys
from backend.tenants import service as tenants
from backend.tenants.deps import OwnerCaller, TenantCaller
from backend.tenants.presenters import key_created, key_out, tenant_out
from backend.tenants.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    TenantOut,
    TenantProfilePatch,
    TenantSettingsPatch,
)

router = APIRouter(prefix="/api/v1", tags=["tenant"], responses=error_responses(401))


@router.get("/tenant", response_model=TenantOut)
async def get_tenant(caller: TenantCaller) -> TenantOut:
    """The tenant this key belongs to, with its settings."""
    return tenant_out(caller.tenant)


@router.patch("/tenant", response_model=TenantOut, responses=error_responses(403, 422))
async def update_profile(body: TenantProfilePatch, caller: OwnerCaller, db: Db) -> TenantOut:
    """The clinic's name and timezone (hours are local times: they stay the same wall-clock times)."""

    async def work(session: AsyncSession) -> TenantOut:
        return tenant_out(await tenants.update_profile(session, caller, body))

    return await db.transaction(work)


@router.patch("/tenant/settings", response_model=TenantOut, responses=error_responses(403, 422))
async def update_settings(body: TenantSettingsPatch, caller: OwnerCaller, db: Db) -> TenantOut:
    """Change some settings (quiet hours, reminder offsets, review link …); the rest stay as they are."""

    async def work(session: AsyncSession) -> TenantOut:
        return tenant_out(await tenants.update_settings(session, caller, body.settings))

    return await db.transaction(work)


@router.get("/api-keys", response_model=list[ApiKeyOut], responses=error_responses(403))
async def list_keys(caller: OwnerCaller, db: Db) -> list[ApiKeyOut]:
    async def work(session: AsyncSession) -> list[ApiKeyOut]:
        return [key_out(key) for key in await api_keys.list_keys(session, caller.tenant.id)]

    return await db.transaction(work)


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, responses=error_responses(403, 422))
async def create_key(body: ApiKeyCreate, caller: OwnerCaller, request: Request) -> JSONResponse:
    """Create a secret key, or a publishable key for the chat widget bound to allowed origins.

    The full key is in this response only; store it now.
    """

    async def work(session: AsyncSession) -> ApiKeyCreated:
        issued = await api_keys.create(session, caller, body.kind, body.name, body.allowed_origins)
        return key_created(issued)

    return await run_command(
        request, str(caller.tenant.id), work, status_code=201, isolation="READ COMMITTED"
    )


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, responses=error_responses(403, 404, 409))
async def revoke_key(key_id: uuid.UUID, caller: OwnerCaller, db: Db, now: Now) -> ApiKeyOut:
    """Revoke a key at once. Revoking twice is harmless; the last live secret key cannot be revoked."""

    async def work(session: AsyncSession) -> ApiKeyOut:
        return key_out(await api_keys.revoke(session, caller, key_id, now))

    return await db.transaction(work)
