"""The schedule as the front desk reads it: for a run of days and some providers, the opening
hours (breaks are the gaps), appointments, holds being completed and closures. One query per
kind over the window, so a week of a busy clinic renders in a few milliseconds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.scheduling.availability import OCCUPYING
from backend.scheduling.models import Appointment, Closure, Hold, Provider, WeeklyHours

SHOWN_STATUSES = ("booked", "confirmed", "completed", "no_show")


@dataclass
class Block:
    kind: str  # appointment | hold | closure
    starts_at: datetime
    ends_at: datetime
    title: str
    detail: str = ""
    status: str = ""
    id: str = ""
    reference: str = ""
    confirmed_via: str | None = None
    late_minutes: int | None = None
    # Where an appointment was made: "frontdesk", or the clinic's own system that sent it.
    source: str = ""
    # Stored over a time already taken (from that system), and still overlapping another.
    conflict: bool = False


@dataclass
class Column:
    provider: Provider
    day: date
    open_spans: list[tuple[time, time]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleView:
    days: list[date]
    providers: list[Provider]
    columns: dict[tuple[uuid.UUID, date], Column]
    first_hour: int
    last_hour: int
    # Days no one in view works (no hours, or a closure over all of them) and nothing is booked or
    # held: the day and the closures' reasons ("" when it is simply not a working day).
    closed: dict[date, str] = field(default_factory=dict)


async def view(
    session: AsyncSession,
    tenant: TenantContext,
    first_day: date,
    day_count: int,
    provider_id: uuid.UUID | None,
    now: datetime,
) -> ScheduleView:
    tz = tenant.timezone
    days = [first_day + timedelta(days=n) for n in range(day_count)]
    start = datetime.combine(days[0], time(0), tz)
    end = datetime.combine(days[-1] + timedelta(days=1), time(0), tz)
    query = select(Provider).where(Provider.tenant_id == tenant.id, Provider.active).order_by(Provider.name)
    if provider_id is not None:
        query = query.where(Provider.id == provider_id)
    providers = list(await session.scalars(query))
    ids = [p.id for p in providers]
    columns = {(p.id, d): Column(p, d) for p in providers for d in days}

    hours = await session.scalars(
        select(WeeklyHours).where(WeeklyHours.tenant_id == tenant.id, WeeklyHours.provider_id.in_(ids))
    )
    spans = [(h.provider_id, h.weekday, h.opens_at, h.closes_at) for h in hours]
    for provider_id_, weekday, opens, closes in spans:
        for day in days:
            if day.weekday() == weekday:
                columns[(provider_id_, day)].open_spans.append((opens, closes))

    def place(pid: uuid.UUID, block: Block) -> None:
        day = block.starts_at.astimezone(tz).date()
        column = columns.get((pid, day))
        if column is not None:
            column.blocks.append(block)

    appointments = await session.scalars(
        select(Appointment).where(
            Appointment.tenant_id == tenant.id,
            Appointment.provider_id.in_(ids),
            Appointment.starts_at < end,
            Appointment.ends_at > start,
            Appointment.status.in_(SHOWN_STATUSES),
        )
    )
    shown = list(appointments)
    for a in shown:
        place(
            a.provider_id,
            Block(
                "appointment",
                a.starts_at,
                a.ends_at,
                a.customer.name,
                a.service.name,
                a.status,
                str(a.id),
                a.reference,
                a.confirmed_via,
                a.late_minutes,
                a.source,
                a.conflict and a.status in OCCUPYING and _overlaps_another(a, shown),
            ),
        )
    holds = await session.scalars(
        select(Hold).where(
            Hold.tenant_id == tenant.id,
            Hold.provider_id.in_(ids),
            Hold.status == "active",
            Hold.expires_at > now,
            Hold.starts_at < end,
            Hold.ends_at > start,
        )
    )
    for h in holds:
        place(
            h.provider_id,
            Block(
                "hold",
                h.starts_at,
                h.ends_at,
                "On hold",
                f"until {h.expires_at.astimezone(tz):%H:%M}, while a patient books it",
                id=str(h.id),
            ),
        )
    closures = await session.scalars(
        select(Closure).where(
            Closure.tenant_id == tenant.id, Closure.starts_at < end, Closure.ends_at > start
        )
    )
    for c in closures:
        for (pid, day), column in columns.items():
            if c.provider_id not in (None, pid):
                continue
            day_start, day_end = (
                datetime.combine(day, time(0), tz),
                datetime.combine(day + timedelta(days=1), time(0), tz),
            )
            if c.starts_at < day_end and c.ends_at > day_start:
                column.blocks.append(
                    Block(
                        "closure",
                        max(c.starts_at, day_start),
                        min(c.ends_at, day_end),
                        "Closed",
                        c.reason,
                        id=str(c.id),
                    )
                )
    for column in columns.values():
        column.blocks.sort(key=lambda b: b.starts_at)
        column.open_spans.sort()
    opens = [s[2].hour for s in spans] or [8]
    closes = [s[3].hour + (1 if s[3].minute else 0) for s in spans] or [18]
    first_hour, last_hour = min(opens), max(max(closes), min(opens) + 1)
    closed = {day: reason for day in days if (reason := _closed(day, providers, columns, tz)) is not None}
    return ScheduleView(days, providers, columns, first_hour, last_hour, closed)


def _closed(
    day: date, providers: list[Provider], columns: dict[tuple[uuid.UUID, date], Column], tz: tzinfo
) -> str | None:
    """Why nobody in view works on `day` ("" for a day off), or None when someone does or something
    is booked or held on it."""
    shown = [columns[(p.id, day)] for p in providers]
    if not shown or any(b.kind != "closure" for c in shown for b in c.blocks):
        return None
    for column in shown:
        closures = [b for b in column.blocks if b.kind == "closure"]
        for opens, closes in column.open_spans:
            starts, ends = datetime.combine(day, opens, tz), datetime.combine(day, closes, tz)
            if not any(b.starts_at <= starts and b.ends_at >= ends for b in closures):
                return None
    return ", ".join(sorted({b.detail for c in shown for b in c.blocks if b.kind == "closure" and b.detail}))


def _overlaps_another(appointment: Appointment, others: list[Appointment]) -> bool:
    return any(
        o.id != appointment.id
        and o.provider_id == appointment.provider_id
        and o.status in OCCUPYING
        and o.starts_at < appointment.blocked_until
        and appointment.starts_at < o.blocked_until
        for o in others
    )
