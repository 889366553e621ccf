"""The request frame: what the patient is looking for, kept across turns. Each reading is merged in,
a later value replacing an earlier one: a new day keeps the time wanted, a new time keeps the day,
"later" / "earlier" / "other days" / "more" move the search from what was shown."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from agent.dialogue.turn import Turn
from agent.state import Search
from agent.understanding import Reading, Relative, TimeAsk

MAX_SEARCH_DAYS = 14


def merge(turn: Turn, reading: Reading, anchor: datetime | None = None) -> None:
    """Fold what the message said into the conversation's search. `anchor` is the appointment a
    relative time is said against ("the same day", "an hour later"): the one being moved, or the
    time being held."""
    search = turn.state.search
    shown = [turn.local(o.starts_at) for o in turn.state.offered]
    if reading.service_id and reading.service_id != search.service_id:
        search.service_id = reading.service_id
        _restart(search)
    if reading.provider_id and reading.provider_id != search.provider_id:
        search.provider_id = reading.provider_id
        _restart(search)
    elif reading.any_provider:
        search.provider_id = None
    base = turn.local(anchor) if anchor is not None else _day_in_view(search, shown, turn)
    if reading.relative is not None and base is not None:
        _relative(search, reading.relative, base)
    if reading.days is not None:
        search.first_day, search.last_day = reading.days.first, reading.days.last
        search.far_date_confirmed = False
        _restart(search)
    if reading.time is not None and reading.time.said_anything:
        _set_time(search, reading.time)
    if reading.first_free:
        search.earliest = True
    if reading.shift is not None:
        _shift(search, reading.shift, shown or ([base] if base is not None else []), turn.today)


def _day_in_view(search: Search, shown: list[datetime], turn: Turn) -> datetime | None:
    """What "that day" means with nothing held: the day asked for (its first time shown, or the time
    wanted, or its start), else the first time shown."""
    day = search.first_day if search.first_day == search.last_day else None
    wanted = time.fromisoformat(search.target) if search.target else None
    if day is None:
        if not shown:
            return None
        # "same time" after times near the one asked for: that time, not the first shown.
        return datetime.combine(shown[0].date(), wanted, tzinfo=turn.zone) if wanted else shown[0]
    on_day = [s for s in shown if s.date() == day]
    if on_day and wanted is None:
        return on_day[0]
    return datetime.combine(day, wanted or time(0), tzinfo=turn.zone)


def _restart(search: Search) -> None:
    search.not_before = search.not_after = None
    search.seen = []


def _set_time(search: Search, ask: TimeAsk) -> None:
    search.target = _hh_mm(ask.exact) if ask.exact else None
    search.exact = ask.exact is not None and not ask.approximate
    search.part_of_day = ask.part_of_day
    search.after = _hh_mm(ask.after) if ask.after else None
    search.before = _hh_mm(ask.before) if ask.before else None
    _restart(search)


def _relative(search: Search, relative: Relative, base: datetime) -> None:
    if relative.week_after:
        # "the week after": any day of the week after the appointment's week.
        monday = base.date() - timedelta(days=base.weekday()) + timedelta(days=7)
        search.first_day, search.last_day = monday, monday + timedelta(days=6)
        search.far_date_confirmed = False
        _restart(search)
        return
    day = base.date()
    if relative.weekday_after is not None:
        day += timedelta(days=(relative.weekday_after - day.weekday()) % 7 or 7)
    day += timedelta(days=relative.day_offset)
    moment: datetime | None = None
    if relative.minutes:
        moment = base + timedelta(minutes=relative.minutes)
        day = moment.date()
    elif relative.same_time:
        moment = datetime.combine(day, base.time(), tzinfo=base.tzinfo)
    search.first_day = search.last_day = day
    search.far_date_confirmed = False
    _restart(search)
    if moment is not None:
        search.target, search.exact = _hh_mm(moment.time()), True
        search.part_of_day = search.after = search.before = None
    if relative.direction is not None:
        # "Later that day": the nearest times after it on that day, then on the nearest days.
        search.target, search.exact = _hh_mm(base.time()), False
        search.part_of_day = search.after = search.before = None
        search.not_before, search.not_after = (base, None) if relative.direction == "later" else (None, base)


def _shift(search: Search, how: str, shown: list[datetime], today: date) -> None:
    if not shown:
        return
    if how in {"more", "none"}:
        search.seen = sorted({*search.seen, *shown})
        return
    if how == "later_week":
        # "later in the week": the days after the last shown, to the end of its week (or the next).
        after = max(shown).date() + timedelta(days=1)
        sunday = after + timedelta(days=6 - after.weekday())
        search.first_day, search.last_day = after, sunday
        search.exact, search.not_before, search.not_after = False, None, None
        search.seen = []
        return
    search.exact = False
    if how in {"later", "earlier"}:
        # Next to what was shown: the nearest times after the last (before the first) on that day,
        # then on the days after (before) it.
        edge = max(shown) if how == "later" else min(shown)
        search.first_day = search.last_day = edge.date()
        search.target = _hh_mm(edge.time())
        search.part_of_day = search.after = search.before = None
        search.not_before, search.not_after = (edge, None) if how == "later" else (None, edge)
    else:  # other days
        search.target = None
        search.first_day, search.last_day = max(shown).date() + timedelta(days=1), None
        search.not_before = search.not_after = None
        search.seen = []


def window(search: Search, today: date, far_after: date) -> tuple[date, date]:
    """The days to ask for availability: at most two weeks, and not past `far_after` (the last day
    that needs no "are you sure?") unless the search starts past it. A single day with a time wanted
    looks a few days either side too, so the nearest alternatives are at hand."""
    first = search.first_day or today
    if search.not_before is not None:
        first = max(first, search.not_before.date())
    last = search.last_day or first + timedelta(days=MAX_SEARCH_DAYS - 1)
    if first == last and search.target is not None and first >= today:
        first, last = max(today, first - timedelta(days=3)), first + timedelta(days=MAX_SEARCH_DAYS - 4)
    last = min(last, first + timedelta(days=MAX_SEARCH_DAYS - 1))
    if first <= far_after and not search.far_date_confirmed:
        last = min(last, far_after)
    return first, last


def time_wanted(search: Search) -> TimeAsk:
    return TimeAsk(
        exact=_time(search.target),
        approximate=not search.exact,
        after=_time(search.after),
        before=_time(search.before),
        part_of_day=search.part_of_day,
    )


def _hh_mm(moment: time) -> str:
    return moment.strftime("%H:%M")


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None
