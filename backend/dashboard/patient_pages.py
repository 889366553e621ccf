"""Patients: search by name, phone, e-mail or booking reference; a profile with everything held
about them (the export, read as a page); correcting contact details; export and erase."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backend.core.deps import Db, Now
from backend.dashboard.render import PREFIX, StaffPage
from backend.patients import endpoints as patients
from backend.patients import records

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/patients", response_class=HTMLResponse)
async def patient_list(
    page: StaffPage,
    db: Db,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    found = await patients.search_customers(page.caller, db, q=q, limit=50, cursor=cursor)
    return page.render("patients.html", "patients", found=found, q=q or "")


@router.get("/patients/{customer_id}", response_class=HTMLResponse)
async def patient_profile(customer_id: uuid.UUID, page: StaffPage, db: Db, now: Now) -> HTMLResponse:
    held = await db.transaction(
        lambda session: records.export(session, page.caller, customer_id, now, as_download=False)
    )
    return page.render("patient.html", "patients", held=held)
