"""Messages: the outbox with status, provider error and attempts, retry or cancel; opted-out numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backend.core.deps import Db
from backend.dashboard.render import PREFIX, StaffPage
from backend.messaging import outbox_control
from backend.messaging import outbox_endpoints as outbox

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FILTERS = {
    "": None,
    "problems": ["failed", "permanently_failed", "rate_limited", "opted_out"],
    "waiting": ["rendering", "pending", "sending"],
    "sent": ["sent"],
    "withheld": ["suppressed", "cancelled"],
}


@router.get("/messages", response_class=HTMLResponse)
async def messages_page(
    page: StaffPage,
    db: Db,
    show: Annotated[str, Query(max_length=20)] = "",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    statuses = FILTERS.get(show)
    found = await outbox.list_notifications(
        page.caller, db, status=statuses, appointment_id=None, customer_id=None, limit=50, cursor=cursor
    )
    return page.render(
        "messages.html",
        "messages",
        found=found,
        show=show,
        retryable=outbox_control.RETRYABLE,
        cancellable=outbox_control.CANCELLABLE,
    )


@router.get("/messages/opt-outs", response_class=HTMLResponse)
async def opt_outs_page(
    page: StaffPage, db: Db, cursor: Annotated[str | None, Query(max_length=200)] = None
) -> HTMLResponse:
    found = await outbox.list_opt_outs(page.caller, db, limit=100, cursor=cursor)
    return page.render("opt_outs.html", "messages", found=found)
