"""The signed-in member's own account: two-factor sign-in (set up with a QR code drawn here, the
recovery codes shown once, turned off with a code). Read and changed through the account API."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from backend.core.deps import AppSettings, Db
from backend.dashboard.render import ENROLMENT_PATH, StaffPage
from backend.tenants import two_factor_endpoints as two_factor

router = APIRouter(include_in_schema=False)


@router.get(ENROLMENT_PATH, response_class=HTMLResponse)
async def two_factor_page(page: StaffPage, db: Db, settings: AppSettings) -> HTMLResponse:
    state = await two_factor.status(page.caller, db)
    # Not on yet: a fresh secret each time the page opens (the last one shown is the one that counts).
    enrolment = None if state.enabled else await two_factor.begin(page.caller, db, settings)
    return page.render("account.html", "account", state=state, enrolment=enrolment)
