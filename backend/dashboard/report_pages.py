"""The Reports page: the clinic's figures for a range and a provider, each as a chart drawn on the
server, the table behind it, and a CSV download of the same numbers (the API's)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backend.core.deps import Db, Now
from backend.core.schemas import Day
from backend.dashboard.render import PREFIX, StaffPage
from backend.reports import charts
from backend.reports.endpoints import figure_of, period_of
from backend.reports.figures import FIGURES
from backend.scheduling import catalog

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(
    page: StaffPage,
    db: Db,
    now: Now,
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
    provider_id: Annotated[uuid.UUID | None, Query()] = None,
) -> HTMLResponse:
    period = period_of(page.caller, start, end, provider_id, now)
    providers = await db.transaction(lambda session: catalog.active_providers(session, page.caller.tenant))
    query = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
    if provider_id is not None:
        query["provider_id"] = str(provider_id)
    days = [
        (period.first_day + timedelta(days=n)).isoformat()
        for n in range((period.last_day - period.first_day).days + 1)
    ]
    figures = []
    for name, (title, _) in FIGURES.items():
        table = await figure_of(db, name, period)
        every = days if name in charts.DAILY else ()
        shape = charts.SHAPES.get(name)
        figures.append(
            {
                "name": name,
                "title": title,
                "chart": charts.svg(title, table, shape, every) if shape else None,
                "table": table,
                "csv": f"/api/v1/reports/{name}?{urlencode({**query, 'format': 'csv'})}",
            }
        )
    return page.render(
        "reports.html",
        "reports",
        figures=figures,
        period=period,
        providers=providers,
        provider_id=provider_id,
    )
