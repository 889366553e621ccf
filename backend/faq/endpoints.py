"""The clinic's FAQ over the API: what the receptionist answers from, in the clinic's own words.
Anyone of the clinic reads it; owners (and secret keys) change it; every change is audited."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db
from backend.core.schemas import error_responses
from backend.faq import service
from backend.faq.models import FaqEntry
from backend.faq.schemas import MAX_ENTRIES, FaqEntryIn, FaqEntryOut, FaqEntryPatch
from backend.tenants.deps import OwnerCaller, TenantCaller

router = APIRouter(prefix="/api/v1", tags=["faq"])

_CONFLICT = f"Another entry is already asked that way, or the FAQ is full ({MAX_ENTRIES} entries)"
_WRITE_ERRORS = error_responses(401, 403, 404, 409, 422, status_409=_CONFLICT)


def _out(entry: FaqEntry) -> FaqEntryOut:
    return FaqEntryOut.model_validate(entry)


@router.get("/faq", response_model=list[FaqEntryOut], responses=error_responses(401, 403))
async def list_faq(caller: TenantCaller, db: Db) -> list[FaqEntryOut]:
    """Every entry, in the order the workspace lists them (`position`, then oldest first)."""

    async def work(session: AsyncSession) -> list[FaqEntryOut]:
        return [_out(e) for e in await service.list_entries(session, caller.tenant)]

    return await db.transaction(work)


@router.post("/faq", status_code=201, response_model=FaqEntryOut, responses=_WRITE_ERRORS)
async def add_faq_entry(body: FaqEntryIn, caller: OwnerCaller, request: Request) -> JSONResponse:
    """A new answer with the ways patients ask for it. The receptionist answers from it on the
    next message; it never states a price, a plan or a policy that is not in the FAQ."""

    async def work(session: AsyncSession) -> FaqEntryOut:
        return _out(await service.add_entry(session, caller, body))

    return await run_command(request, f"faq:{caller.tenant.id}", work, status_code=201)


@router.get("/faq/{entry_id}", response_model=FaqEntryOut, responses=error_responses(401, 403, 404))
async def get_faq_entry(entry_id: uuid.UUID, caller: TenantCaller, db: Db) -> FaqEntryOut:
    async def work(session: AsyncSession) -> FaqEntryOut:
        return _out(await service.get_entry(session, caller.tenant, entry_id))

    return await db.transaction(work)


@router.patch("/faq/{entry_id}", response_model=FaqEntryOut, responses=_WRITE_ERRORS)
async def change_faq_entry(
    entry_id: uuid.UUID, body: FaqEntryPatch, caller: OwnerCaller, db: Db
) -> FaqEntryOut:
    """Change any of its fields; `questions` replaces the whole list."""

    async def work(session: AsyncSession) -> FaqEntryOut:
        return _out(await service.change_entry(session, caller, entry_id, body))

    return await db.transaction(work)


@router.delete("/faq/{entry_id}", status_code=204, responses=error_responses(401, 403, 404))
async def delete_faq_entry(entry_id: uuid.UUID, caller: OwnerCaller, db: Db) -> None:
    """The receptionist stops answering from it at once."""
    await db.transaction(lambda session: service.delete_entry(session, caller, entry_id))
