"""The Event API: a tenant's events, read by cursor, with replay from any cursor within retention and
an optional long poll."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.core import events
from backend.core.deps import Db
from backend.core.errors import NotFound
from backend.core.event_catalogue import CATALOGUE
from backend.core.events import Cursor
from backend.core.schemas import error_responses
from backend.events import envelopes
from backend.events.envelopes import EventPage
from backend.tenants.deps import OwnerCaller

router = APIRouter(prefix="/api/v1/events", tags=["events"])

MAX_WAIT_SECONDS = 30
# How often a long poll looks again: a query on an index, on a connection held only for it.
POLL_SECONDS = 0.5


class EventTypeOut(BaseModel):
    type: str
    version: int
    summary: str
    data_schema: dict[str, Any] = Field(description="JSON Schema of the event's `data`")


@router.get(
    "",
    response_model=None,
    responses={
        200: {"model": EventPage, "description": "The next events in stream order"},
        **error_responses(401, 410, 422, status_410="CURSOR_EXPIRED: the cursor is older than the retention"),
    },
)
async def read_events(
    request: Request,
    caller: OwnerCaller,
    db: Db,
    after: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the last page")] = None,
    types: Annotated[
        list[str], Query(description="Only these types or groups (`booking.*`); repeat or comma-separate")
    ] = [],  # noqa: B006 - FastAPI copies defaults per request
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    wait: Annotated[
        int, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for an event when none is ready")
    ] = 0,
) -> JSONResponse:
    """Events in the order they became final, each once. Start without `after` (the oldest event
    kept, 30 days by default), then pass `next_cursor` back each time; store it to resume. A
    transaction that commits late never slips behind a cursor already handed out: events are
    released only once no older transaction is still running. With `wait`, an empty read is held
    open until an event arrives or the time is up."""
    cursor = Cursor.decode(after) if after is not None else None
    wanted = envelopes.expand(envelopes.check_types(types, "types")) if types else None
    deadline = time.monotonic() + wait
    while True:
        page = await db.transaction(
            lambda session, start=cursor: events.read(
                session, caller.tenant.id, start, types=wanted, limit=limit
            )
        )
        if page.events or time.monotonic() >= deadline or await request.is_disconnected():
            break
        cursor = page.next  # past the events the filter skipped, so the next look is short
        await asyncio.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0)))
    return JSONResponse(
        {
            "data": [envelopes.streamed(event) for event in page.events],
            "next_cursor": page.next.encode(),
            "has_more": page.has_more,
        }
    )


@router.get("/types", response_model=list[EventTypeOut])
async def event_types(caller: OwnerCaller) -> list[EventTypeOut]:
    """The catalogue: every type, its version, and the schema of its data."""
    return [
        EventTypeOut(type=name, version=cls.version, summary=cls.summary, data_schema=cls.model_json_schema())
        for name, cls in CATALOGUE.items()
    ]


@router.get(
    "/{event_id}",
    response_model=None,
    responses={200: {"model": envelopes.Envelope, "description": "One event"}, **error_responses(401, 404)},
)
async def read_event(event_id: str, caller: OwnerCaller, db: Db) -> JSONResponse:
    """One event by its id (`evt_…`), as the stream and webhooks carry it."""
    number = envelopes.parse_event_id(event_id)
    found = (
        await db.transaction(lambda session: events.by_ids(session, caller.tenant.id, [number]))
        if number is not None
        else []
    )
    if not found:
        raise NotFound(f"event {event_id!r} not found")
    return JSONResponse(envelopes.streamed(found[0]))
