"""`GET /api/v1/reports/<figure>`: each of the clinic's figures for a range of the clinic's days and,
optionally, one provider; as JSON, or as CSV with `format=csv` (the workspace's download)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import Field

from backend.core.context import Caller
from backend.core.db import Database
from backend.core.deps import Db, Now
from backend.core.errors import ValidationFailed
from backend.core.schemas import Day, Output, error_responses
from backend.reports.figures import FIGURES, Period, Table
from backend.tenants.deps import TenantCaller

router = APIRouter(prefix="/api/v1", tags=["reports"])
Figure = Literal["bookings", "confirmations", "attendance", "recovered", "messages", "speed"]
MAX_DAYS = 366
DEFAULT_DAYS = 28


class ReportOut(Output):
    figure: str
    title: str
    first_day: date = Field(description="The range's first day, in the clinic's time zone")
    last_day: date = Field(description="Its last day, inclusive")
    timezone: str
    provider_id: uuid.UUID | None
    columns: list[str]
    rows: list[list[Any]] = Field(description="One list of values per row, in the order of `columns`")


def period_of(
    caller: Caller, first: date | None, last: date | None, provider: uuid.UUID | None, now: Now
) -> Period:
    """The range asked for; by default the last four weeks up to today, the clinic's today."""
    today = now.astimezone(caller.tenant.timezone).date()
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationFailed("from", "the first day must not be after the last")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed("to", f"a report covers at most {MAX_DAYS} days")
    return Period(caller.tenant, first, last, provider)


async def figure_of(db: Database, name: str, period: Period) -> Table:
    _, compute = FIGURES[name]
    return await db.transaction(lambda session: compute(session, period))


@router.get(
    "/reports/{figure}",
    response_model=ReportOut,
    responses={
        **error_responses(401, 422),
        200: {"content": {"text/csv": {}}, "description": "The figure (JSON, or CSV with `format=csv`)"},
    },
)
async def report(
    caller: TenantCaller,
    db: Db,
    now: Now,
    figure: Annotated[Figure, Path(description="Which figure")],
    start: Annotated[
        Day | None, Query(alias="from", description="First day (the clinic's time zone)")
    ] = None,
    end: Annotated[Day | None, Query(alias="to", description="Last day, inclusive; default today")] = None,
    provider_id: Annotated[uuid.UUID | None, Query(description="Only this provider's appointments")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="`csv` for a spreadsheet")] = "json",
) -> Any:
    """One of the clinic's figures. bookings: per day, by channel (web, sms, voice, staff, api,
    waitlist) and by who finished them (the receptionist alone, or a person). confirmations:
    reminded appointments by how the patient confirmed. attendance: per week, visits due, no-shows
    and cancellations within 24 hours of the start. recovered: waitlist offers accepted, no-show
    follow-ups rebooked, hold follow-ups completed. messages: per day, delivered, sent, failed,
    withheld, waiting. speed: the median minutes from a patient's first message to the booking it
    made, and conversations handed to a person."""
    period = period_of(caller, start, end, provider_id, now)
    table = await figure_of(db, figure, period)
    if format == "csv":
        return csv_response(figure, period, table)
    return ReportOut(
        figure=figure,
        title=FIGURES[figure][0],
        first_day=period.first_day,
        last_day=period.last_day,
        timezone=caller.tenant.timezone_name,
        provider_id=provider_id,
        columns=list(table.columns),
        rows=[list(row) for row in table.rows],
    )


def csv_response(figure: str, period: Period, table: Table) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    name = f"{figure}-{period.first_day}-{period.last_day}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
