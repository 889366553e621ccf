"""The calling tenant's own account: its settings, its API keys and its Twilio numbers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api import presenters
from backend.api.commands import run_command
from backend.api.deps import Db, Now, TenantCaller
from backend.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    PhoneNumberIn,
    PhoneNumberOut,
    TenantOut,
    TenantSettingsPatch,
)
from backend.services import api_keys, phone_numbers, tenants

router = APIRouter(prefix="/api/v1", tags=["tenant"])


@router.get("/tenant", response_model=TenantOut)
async def get_tenant(caller: TenantCaller) -> TenantOut:
    """The tenant this key belongs to, with its settings."""
    return presenters.tenant_out(caller.tenant)


@router.patch("/tenant/settings", response_model=TenantOut)
async def update_settings(body: TenantSettingsPatch, caller: TenantCaller, db: Db) -> TenantOut:
    """Change some settings (quiet hours, reminder offsets, review link …); the rest stay as they are."""

    async def work(session: AsyncSession) -> TenantOut:
        return presenters.tenant_out(await tenants.update_settings(session, caller, body.settings))

    return await db.transaction(work)


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_keys(caller: TenantCaller, db: Db) -> list[ApiKeyOut]:
    async def work(session: AsyncSession) -> list[ApiKeyOut]:
        return [presenters.key_out(key) for key in await api_keys.list_keys(session, caller.tenant.id)]

    return await db.transaction(work)


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated)
async def create_key(body: ApiKeyCreate, caller: TenantCaller, request: Request) -> JSONResponse:
    """Create a secret key, or a publishable key for the chat widget bound to allowed origins.

    The full key is in this response only; store it now.
    """

    async def work(session: AsyncSession) -> ApiKeyCreated:
        issued = await api_keys.create(session, caller, body.kind, body.name, body.allowed_origins)
        return presenters.key_created(issued)

    return await run_command(
        request, str(caller.tenant.id), work, status_code=201, isolation="READ COMMITTED"
    )


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut)
async def revoke_key(key_id: uuid.UUID, caller: TenantCaller, db: Db, now: Now) -> ApiKeyOut:
    """Revoke a key at once. Revoking twice is harmless; the last live secret key cannot be revoked."""

    async def work(session: AsyncSession) -> ApiKeyOut:
        return presenters.key_out(await api_keys.revoke(session, caller, key_id, now))

    return await db.transaction(work)


@router.get("/phone-numbers", response_model=list[PhoneNumberOut])
async def list_numbers(caller: TenantCaller, db: Db) -> list[PhoneNumberOut]:
    """The Twilio numbers patients call and text; the first is the one reminders are sent from."""

    async def work(session: AsyncSession) -> list[PhoneNumberOut]:
        rows = await phone_numbers.list_for(session, caller.tenant.id)
        return [PhoneNumberOut.model_validate(row) for row in rows]

    return await db.transaction(work)


@router.post("/phone-numbers", status_code=201, response_model=PhoneNumberOut)
async def add_number(body: PhoneNumberIn, caller: TenantCaller, request: Request) -> JSONResponse:
    """Register a Twilio number. Point its Messaging webhook at `/twilio/sms`, its Voice webhook at
    `/twilio/voice` and its call status callback at `/twilio/voice/status`. 409 if already registered."""

    async def work(session: AsyncSession) -> PhoneNumberOut:
        added = await phone_numbers.add(session, caller, body.number, body.label)
        return PhoneNumberOut.model_validate(added)

    return await run_command(request, str(caller.tenant.id), work, status_code=201)


@router.delete("/phone-numbers/{number_id}", status_code=204)
async def remove_number(number_id: uuid.UUID, caller: TenantCaller, db: Db) -> Response:
    """Stop answering a number: calls and texts to it get the generic unknown-number answer."""

    async def work(session: AsyncSession) -> None:
        await phone_numbers.remove(session, caller, number_id)

    await db.transaction(work)
    return Response(status_code=204)
