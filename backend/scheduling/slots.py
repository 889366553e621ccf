"""Pure slot arithmetic: which start times a calendar can offer, in the tenant's local time.

Opening hours are wall-clock times in the tenant's timezone; everything returned is an aware UTC
datetime. Across DST changes a local time that does not exist (02:30 on a spring-forward night) is
skipped, and one that happens twice (01:30 on a fall-back night) is offered once, at its first
occurrence. Durations are real elapsed time, so a visit never silently gains or loses an hour.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class OpenHours:
    weekday: int  # 0 = Monday
    opens_at: time
    closes_at: time


@dataclass(frozen=True)
class BookingRules:
    duration: timedelta
    buffer: timedelta
    step: timedelta
    earliest_start: datetime  # now + minimum lead time
    last_day: date  # the furthest local day that may be booked


def local_wall_time_exists(wall: datetime, tz: ZoneInfo) -> bool:
    """False for wall-clock times skipped by a DST jump."""
    aware = wall.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first occurrence of a local wall-clock time, in UTC."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def wall_clock_before(moment: datetime, hours: int, tz: ZoneInfo) -> datetime:
    """`hours` earlier on the local wall clock: 24 is the same time the day before, across DST too.

    A wall time skipped by a spring-forward jump becomes the first minute after the gap; one that
    happens twice is taken at its first occurrence.
    """
    wall = moment.astimezone(tz).replace(tzinfo=None) - timedelta(hours=hours)
    while not local_wall_time_exists(wall, tz):
        wall += timedelta(minutes=1)
    return to_utc(wall, tz)


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def open_ranges(day: date, hours: Iterable[OpenHours], tz: ZoneInfo) -> list[Range]:
    """The opening intervals of one local day, as UTC ranges."""
    return [
        (to_utc(datetime.combine(day, h.opens_at), tz), to_utc(datetime.combine(day, h.closes_at), tz))
        for h in hours
        if h.weekday == day.weekday()
    ]


def overlaps(start: datetime, end: datetime, ranges: Iterable[Range]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in ranges)


class Occupied:
    """Busy ranges merged into disjoint, sorted intervals, so asking about one candidate slot is a
    binary search: a provider with thousands of calendar blocks costs no more per slot than one."""

    def __init__(self, ranges: Iterable[Range]) -> None:
        merged: list[list[datetime]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self._starts = [start for start, _ in merged]
        self._ends = [end for _, end in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # The last interval starting before `end` is the only one that can reach past `start`.
        index = bisect_left(self._starts, end) - 1
        return index >= 0 and self._ends[index] > start


def _same_offset(first: datetime, last: datetime, tz: ZoneInfo) -> bool:
    """Both wall times exist and are at one UTC offset (a day holds at most one clock change)."""
    if not (local_wall_time_exists(first, tz) and local_wall_time_exists(last, tz)):
        return False
    return first.replace(tzinfo=tz).utcoffset() == last.replace(tzinfo=tz, fold=1).utcoffset()


def candidate_starts(
    day: date, hours: Sequence[OpenHours], tz: ZoneInfo, rules: BookingRules
) -> Iterator[datetime]:
    """Start times on the step grid of each opening interval where the whole visit fits."""
    for h in hours:
        if h.weekday != day.weekday():
            continue
        closes = to_utc(datetime.combine(day, h.closes_at), tz)
        wall = datetime.combine(day, h.opens_at)
        wall_end = datetime.combine(day, h.closes_at)
        if _same_offset(wall, wall_end, tz):
            # No clock change inside the interval (all but two days a year): every wall time on
            # the grid exists once, at one offset, so the grid can be walked in UTC directly.
            start = to_utc(wall, tz)
            while start + rules.duration <= closes:
                yield start
                start += rules.step
            continue
        # Each wall time is visited once and mapped to its first occurrence, so a repeated hour is
        # offered once; naive datetime arithmetic keeps the grid on the wall clock across the jump.
        while wall < wall_end:
            if local_wall_time_exists(wall, tz):
                start = to_utc(wall, tz)
                if start + rules.duration <= closes:
                    yield start
            wall += rules.step


def free_slots(
    days: Iterable[date],
    hours: Sequence[OpenHours],
    tz: ZoneInfo,
    rules: BookingRules,
    busy: Sequence[Range],
    closures: Sequence[Range],
) -> list[datetime]:
    """Bookable start times of one calendar over the given local days, in order."""
    slots: list[datetime] = []
    occupied = Occupied(busy)
    for day in days:
        if day > rules.last_day:
            break
        for start in candidate_starts(day, hours, tz, rules):
            end = start + rules.duration
            if start < rules.earliest_start:
                continue
            if overlaps(start, end, closures) or occupied.overlaps(start, end + rules.buffer):
                continue
            slots.append(start)
    return sorted(slots)


def why_not_bookable(
    start: datetime,
    hours: Sequence[OpenHours],
    tz: ZoneInfo,
    rules: BookingRules,
    closures: Sequence[Range],
) -> str | None:
    """None when `start` is a start time of the calendar's grid inside the booking window; else the
    reason it is not.

    Only grid times are bookable, through every door: a visit at 09:05 would block two grid slots,
    and a few such bookings empty a morning that had room for twice as many patients.
    """
    end = start + rules.duration
    local_day = start.astimezone(tz).date()
    if start < rules.earliest_start:
        return "that time is in the past or too soon to book"
    if local_day > rules.last_day:
        return "that date is too far ahead to book"
    if not any(opens <= start and end <= closes for opens, closes in open_ranges(local_day, hours, tz)):
        return "that time is outside opening hours"
    grid = list(candidate_starts(local_day, hours, tz, rules))
    if start not in grid:
        return _off_grid(start, grid, tz, rules.step)
    if overlaps(start, end, closures):
        return "the calendar is closed at that time"
    return None


def _off_grid(start: datetime, grid: list[datetime], tz: ZoneInfo, step: timedelta) -> str:
    grid.sort()
    after = bisect_left(grid, start)
    nearest = [grid[i].astimezone(tz).strftime("%H:%M") for i in (after - 1, after) if 0 <= i < len(grid)]
    minutes = int(step.total_seconds() // 60)
    return f"that time is not a bookable start time: visits start every {minutes} minutes from opening" + (
        f" (the nearest are {' and '.join(nearest)})" if nearest else ""
    )
