"""The calling tenant's Twilio numbers: a number belongs to one tenant; texts and calls are routed by it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db
from backend.telephony import phone_numbers
from backend.telephony.schemas import PhoneNumberIn, PhoneNumberOut
from backend.tenants.deps import OwnerCaller, TenantCaller

# Listed with the tenant's own account in the API reference, as before the numbers had a domain.
router = APIRouter(prefix="/api/v1", tags=["tenant"])


@router.get("/phone-numbers", response_model=list[PhoneNumberOut])
async def list_numbers(caller: TenantCaller, db: Db) -> list[PhoneNumberOut]:
    """The Twilio numbers patients call and text; the first is the one reminders are sent from."""

    async def work(session: AsyncSession) -> list[PhoneNumberOut]:
        rows = await phone_numbers.list_for(session, caller.tenant.id)
        return [PhoneNumberOut.model_validate(row) for row in rows]

    return await db.transaction(work)


@router.post("/phone-numbers", status_code=201, response_model=PhoneNumberOut)
async def add_number(body: PhoneNumberIn, caller: OwnerCaller, request: Request) -> JSONResponse:
    """Register a Twilio number. Point its Messaging webhook at `/twilio/sms`, its Voice webhook at
    `/twilio/voice` and its call status callback at `/twilio/voice/status`. 409 if already registered."""

    async def work(session: AsyncSession) -> PhoneNumberOut:
        added = await phone_numbers.add(session, caller, body.number, body.label)
        return PhoneNumberOut.model_validate(added)

    return await run_command(request, str(caller.tenant.id), work, status_code=201)


@router.delete("/phone-numbers/{number_id}", status_code=204)
async def remove_number(number_id: uuid.UUID, caller: OwnerCaller, db: Db) -> Response:
    """Stop answering a number: calls and texts to it get the generic unknown-number answer."""

    async def work(session: AsyncSession) -> None:
        await phone_numbers.remove(session, caller, number_id)

    await db.transaction(work)
    return Response(status_code=204)
