"""Patients over the API: search, correct contact details, export everything held, erase."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db, Now
from backend.core.schemas import error_responses
from backend.customers import directory
from backend.customers.endpoints import customer_detail
from backend.customers.schemas import CustomerDetailOut
from backend.patients import records
from backend.patients.schemas import ContactPatch, ErasedOut, PatientOut, PatientPage
from backend.scheduling.privacy import patients_by_reference
from backend.tenants.deps import OwnerCaller, TenantCaller

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


@router.get("", response_model=PatientPage, responses=error_responses(401, 403, 422))
async def search_customers(
    caller: TenantCaller,
    db: Db,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Part of a name, a phone, an e-mail or a booking reference"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PatientPage:
    """The clinic's patients, newest first (erased ones are not listed)."""
    text = (q or "").strip() or None

    async def work(session: AsyncSession) -> PatientPage:
        by_reference = await patients_by_reference(session, caller.tenant.id, text) if text else set()
        rows, next_cursor = await directory.search(
            session, caller.tenant, text, by_reference, limit=limit, cursor=cursor
        )
        return PatientPage(items=[PatientOut.model_validate(row) for row in rows], next_cursor=next_cursor)

    return await db.transaction(work)


@router.patch(
    "/{customer_id}",
    response_model=CustomerDetailOut,
    responses=error_responses(401, 403, 404, 409, 422, status_409="Another patient has this phone or e-mail"),
)
async def change_contact(
    customer_id: uuid.UUID, body: ContactPatch, caller: TenantCaller, db: Db
) -> CustomerDetailOut:
    """Correct a patient's name, phone or e-mail."""

    async def work(session: AsyncSession) -> CustomerDetailOut:
        customer = await directory.change_contact(
            session, caller, customer_id, name=body.name, phone=body.phone, email=body.email
        )
        return customer_detail(customer)

    return await db.transaction(work)


@router.get(
    "/{customer_id}/export",
    response_model=dict[str, Any],
    responses=error_responses(401, 403, 404, 422),
)
async def export_customer(customer_id: uuid.UUID, caller: TenantCaller, db: Db, now: Now) -> JSONResponse:
    """Everything held about the patient, as one JSON document: details and consent, appointments,
    waiting list, conversations with every message, messages sent, opt-outs, texts and calls."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await records.export(session, caller, customer_id, now)

    exported = await db.transaction(work)
    return JSONResponse(
        jsonable_encoder(exported),
        headers={"Content-Disposition": f'attachment; filename="patient-{customer_id}.json"'},
    )


@router.post(
    "/{customer_id}/erase",
    response_model=ErasedOut,
    responses=error_responses(401, 403, 404, 409, 422, status_409="Already erased"),
)
async def erase_customer(
    customer_id: uuid.UUID, caller: OwnerCaller, request: Request, now: Now
) -> JSONResponse:
    """Remove the patient's personal data everywhere: contact details, message bodies, what they
    said in conversations and calls, audit details. Appointments stay as anonymous rows; unsent
    messages are cancelled; a number that texted STOP stays blocked. Owners only; cannot be undone."""

    async def work(session: AsyncSession) -> ErasedOut:
        await records.erase(session, caller, customer_id, now)
        return ErasedOut(id=str(customer_id), erased_at=now)

    return await run_command(request, f"erase:{caller.tenant.id}", work, status_code=200)
