"""The audit log viewer: filters by actor, action, object and date, a page at a time (owners)."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backend.core.deps import Db
from backend.core.errors import Forbidden
from backend.core.schemas import Day
from backend.dashboard.render import PREFIX, StaffPage
from backend.tenants import audit_endpoints

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    page: StaffPage,
    db: Db,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    reads: bool = False,
    entity_type: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    if not page.caller.is_owner:
        raise Forbidden("only an owner of the clinic can read the audit log")
    filters = {
        "actor": actor or None,
        "action": action or None,
        "reads": reads or None,
        "entity_type": entity_type or None,
        "entity_id": entity_id or None,
        "start": start,
        "end": end,
    }
    found = await audit_endpoints.audit_log(
        page.caller, db, **{**filters, "reads": reads}, limit=50, cursor=cursor
    )
    query = {
        k if k not in ("start", "end") else {"start": "from", "end": "to"}[k]: v
        for k, v in filters.items()
        if v
    }
    return page.render(
        "audit.html",
        "audit",
        found=found,
        filters=filters,
        query=query,
        readable=lambda details: readable_details(details, page.tz),
    )


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)")


def readable_details(details: dict[str, Any], tz: tzinfo) -> list[tuple[str, str]]:
    """An audit row's details (already redacted when written) as lines a person reads: nested
    names joined ("customer name"), instants on the clinic's clock, empty values left out."""
    lines: list[tuple[str, str]] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{name} {key}".strip(), inner)
        elif value not in (None, "", [], {}):
            lines.append((name.replace("_", " "), _text(value, tz)))

    walk("", details)
    return lines


def _text(value: Any, tz: tzinfo) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(item, tz) for item in value)
    if isinstance(value, str) and _INSTANT.fullmatch(value):
        return datetime.fromisoformat(value).astimezone(tz).strftime("%a %d %b %Y %H:%M")
    return str(value)
