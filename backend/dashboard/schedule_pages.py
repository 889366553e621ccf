"""The schedule: a day or a week, per provider or the whole clinic, with booking, moving,
cancelling and marking visits done or missed (the forms call the bookings API)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import inbox
from backend.core.deps import Db, Now
from backend.core.schemas import Day
from backend.dashboard.render import PREFIX, StaffPage
from backend.scheduling import appointment_lists, calendar_view, catalog, external_writes

if TYPE_CHECKING:
    from backend.scheduling.models import Appointment

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("")
@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse(PREFIX + "/schedule", status_code=303)


@router.get("/schedule", response_class=HTMLResponse)
async def schedule(
    page: StaffPage,
    db: Db,
    now: Now,
    day: Annotated[Day | None, Query()] = None,
    view: Annotated[Literal["day", "week"], Query()] = "day",
    provider: Annotated[uuid.UUID | None, Query()] = None,
) -> HTMLResponse:
    tenant = page.caller.tenant
    today = now.astimezone(tenant.timezone).date()
    shown = day or today
    first = shown - timedelta(days=shown.weekday()) if view == "week" else shown

    async def work(session: AsyncSession) -> tuple[calendar_view.ScheduleView, list, list, int, list]:
        found = await calendar_view.view(session, tenant, first, 7 if view == "week" else 1, provider, now)
        providers = await catalog.active_providers(session, tenant)
        services, _ = await catalog.list_services(session, tenant)
        to_call = await appointment_lists.unconfirmed_soon(session, tenant, now)
        conflicts = await external_writes.open_conflicts(session, tenant, now)
        return found, providers, services, await inbox.waiting(session, tenant), to_call, conflicts

    found, providers, services, waiting, to_call, conflicts = await db.transaction(work)
    step = timedelta(days=7 if view == "week" else 1)
    return page.render(
        "schedule.html",
        "schedule",
        schedule=found,
        view=view,
        shown=shown,
        today=today,
        previous=shown - step,
        following=shown + step,
        provider=provider,
        providers=providers,
        services=services,
        waiting=waiting,
        to_call=to_call,
        conflicts=[_conflict(appointment, over) for appointment, over in conflicts],
        hours=list(range(found.first_hour, found.last_hour)),
        position=lambda at: _position(at, found, tenant.timezone),
        open_position=lambda t: _minutes(t, found),
        block_size=_block_size,
    )


def _block_size(block: calendar_view.Block) -> str:
    """How many lines a block has room for at the schedule's hour height (workspace.css): a
    quarter of an hour one ("tiny"), half an hour two ("short"), longer all three."""
    minutes = (block.ends_at - block.starts_at).total_seconds() / 60
    return "tiny" if minutes < 30 else "short" if minutes < 45 else ""


def _conflict(appointment: Appointment, over: list[Appointment]) -> dict[str, object]:
    return {
        "starts_at": appointment.starts_at,
        "provider": appointment.provider.name,
        "patient": appointment.customer.name,
        "source": appointment.source,
        "over": [f"{o.customer.name} ({o.reference})" for o in over],
    }


def _minutes(clock: time, found: calendar_view.ScheduleView) -> float:
    span = (found.last_hour - found.first_hour) * 60
    return max(0.0, min(100.0, ((clock.hour - found.first_hour) * 60 + clock.minute) / span * 100))


def _position(at: datetime, found: calendar_view.ScheduleView, tz: object) -> float:
    return _minutes(at.astimezone(tz).time(), found)  # type: ignore[arg-type]
