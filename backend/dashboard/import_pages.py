"""Importing appointments from the clinic's own system as a CSV file: choose the file, check the
columns, see each line's problems, import. The page's script calls the CSV import API."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from backend.core.errors import Forbidden
from backend.dashboard.render import PREFIX, StaffPage
from backend.scheduling.external_csv import MONTH_FIRST_COUNTRIES

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The fields a column can fill, as the page names them (`CsvField`).
FIELDS = (
    ("external_id", "Their appointment id"),
    ("starts_at", "Starts"),
    ("ends_at", "Ends"),
    ("duration_minutes", "Or minutes long"),
    ("provider", "Provider"),
    ("service", "Service"),
    ("name", "Patient's name"),
    ("phone", "Phone"),
    ("email", "E-mail"),
    ("status", "Status"),
    ("version", "Version"),
    ("updated_at", "Last changed"),
    ("notes", "Notes"),
)


@router.get("/schedule/import", response_class=HTMLResponse)
async def import_page(page: StaffPage) -> HTMLResponse:
    if not page.caller.is_owner:
        raise Forbidden("only an owner of the clinic can import appointments")
    tenant = page.caller.tenant
    month_first = tenant.settings.default_country in MONTH_FIRST_COUNTRIES
    return page.render("import.html", "schedule", fields=FIELDS, month_first=month_first)
