"""Finding times to offer for the request frame: the exact time asked for when it is free, else the
free times nearest to it on that day and then the nearest days; with no time asked, the first free
times, spread out. A search that finds nothing says so and widens instead of going silent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from agent.dialogue import frame
from agent.dialogue.turn import MORE_TIMES, YES_NO, Turn
from agent.executor import ToolOutcome
from agent.ports import SlotInfo
from agent.replies import QuickReply, Reply, when_label
from agent.state import OfferedSlot, Search
from agent.understanding import within

MAX_TIME_CHIPS = 6
MAX_CHIPS_PER_DAY = 3
SPREAD_MINUTES = 30


@dataclass(frozen=True)
class Offer:
    """Either replies to send, or the one free slot that is exactly what was asked for."""

    replies: list[Reply]
    take: SlotInfo | None = None


async def offer_times(turn: Turn, lead_in: str = "") -> Offer:
    state, search = turn.state, turn.state.search
    far_after = turn.today + timedelta(days=turn.practice.far_date_confirm_days)
    closed = _closed_days(turn)
    if closed:
        lead_in += _around_closed(turn, closed)
        search.earliest = False  # the first time of another day than asked: offered, not taken
    first, last = frame.window(search, turn.today, far_after)
    asked_day = search.first_day if search.first_day == search.last_day else None
    if first < turn.today:
        await check(turn, first, last)  # the policy refuses and audits it; the patient hears it plainly
        search.first_day = search.last_day = None
        return Offer(
            [
                turn.say(
                    f"{turn.day_name(first)} has already passed. Which day would suit you?", turn.day_chips()
                )
            ]
        )
    outcome = await check(turn, first, last)
    if outcome.denied_by == "dates.far_future_confirmation":
        state.awaiting = "far_date"
        return Offer(
            [
                turn.say(
                    f"Just to check: {turn.day_name(first)} is more than"
                    f" {turn.practice.far_date_confirm_days} "
                    "days away. Shall I look for times then?",
                    YES_NO,
                )
            ]
        )
    if not outcome.ok:
        return Offer([turn.trouble(outcome)])
    every = [s for s in outcome.result if _allowed(turn, s)]
    slots = [s for s in every if within(turn.local(s.starts_at).time(), frame.time_wanted(search))]
    target = frame.time_wanted(search).exact
    on_day = ""
    outside = False
    if asked_day is not None:
        on_day = f" on {turn.day_name(asked_day)}"
        free_that_day = any(turn.local(s.starts_at).date() == asked_day for s in slots)
        # A day put in place of a closed one is offered, not taken: the patient hears why first.
        if target is not None and search.exact and not closed:
            exact = next((s for s in slots if _at(turn, s) == (asked_day, target)), None)
            if exact is not None:
                return Offer([], take=exact)
        outside = target is not None and not turn.calendar.open_at(asked_day, target, _minutes(turn))
        if outside and target is not None:
            hours = turn.calendar.hours_text(asked_day)
            lead_in += f"We're open {hours} on {asked_day:%A}s, so {_clock(target)} isn't possible. "
        elif not free_that_day:
            seen_all = any(turn.local(s).date() == asked_day for s in search.seen)
            if seen_all:
                lead_in += f"That's every free time{on_day}{_wanted(search)}. "
            else:
                moved = " earlier" if search.not_after else " later" if search.not_before else " free"
                lead_in += f"There's nothing{moved}{on_day}{_wanted(search)}. "
            on_day = ""  # what follows is on other days
            if target is None:
                slots = await _days_after(turn, asked_day)
        elif target is not None and search.exact:
            lead_in += f"{_clock(target)} isn't available{on_day}. "
    if search.earliest and slots:
        search.earliest = False
        return Offer([], take=slots[0])  # "your first Wednesday morning slot": that one
    if not slots and every:
        # Nothing in the part of the day asked for: the times nearest to it instead.
        lead_in += f"I couldn't find a time{_wanted(search)}; these are the closest. "
        slots, target = every, target or _edge(search)
    if not slots:
        state.awaiting = "time"
        state.offered = []
        return Offer(
            [
                turn.say(
                    f"{lead_in}I couldn't find a free time for that. Would you like to try other days, "
                    "or join the waiting list?",
                    (QuickReply("Join the waiting list", "intent:waitlist"), *turn.day_chips()),
                )
            ]
        )
    if target is not None:
        shown = _nearest(turn, slots, target, asked_day)
        if on_day and any(turn.local(s.starts_at).date() != asked_day for s in shown):
            on_day += " and the days around it"  # a heading names only the day of every time under it
        text = f"{lead_in}Here are the free times closest to {_clock(target)}{on_day}."
        if outside and shown:
            on_asked = [s for s in shown if turn.local(s.starts_at).date() == asked_day] or shown
            nearest = min(on_asked, key=lambda s: (_minutes_from(turn, s, target), s.starts_at))
            text += f" The nearest is {when_label(nearest.starts_at, turn.practice.timezone)}."
    else:
        shown = _spread(turn, slots)
        days = {turn.local(s.starts_at).date() for s in shown}
        on = f" on {turn.day_name(days.pop())}" if len(days) == 1 else ""
        text = f"{lead_in}Here are the first free times I can {_verb(turn)}{on}{_wanted(search)}."
    if search.seen or search.not_before or search.not_after:
        first = when_label(shown[0].starts_at, turn.practice.timezone)
        text = f"{lead_in}Here are more times I can {_verb(turn)}, from {first}."
    return Offer([present(turn, shown, f"{text} Which works for you?")])


async def after_taking(
    turn: Turn, outcome: ToolOutcome, offer_again: Callable[[Turn, str], Awaitable[list[Reply]]]
) -> list[Reply] | None:
    """What to say when holding or moving to a time did not work: a time just taken is offered
    around again (not the exact one any more), any other refusal explained; None when it worked."""
    if outcome.failure_code == "SLOT_TAKEN":
        turn.state.search.exact = False
        return await offer_again(turn, "Sorry, that time was just taken. ")
    return None if outcome.ok else [turn.trouble(outcome)]


def present(turn: Turn, shown: Sequence[SlotInfo | OfferedSlot], text: str) -> Reply:
    state = turn.state
    state.offered = [
        OfferedSlot(starts_at=s.starts_at, provider_id=s.provider_id, provider_name=s.provider_name)
        for s in shown
    ]
    state.awaiting = "time"
    tz = turn.practice.timezone
    chips = tuple(QuickReply(when_label(s.starts_at, tz), f"slot:{s.starts_at.isoformat()}") for s in shown)
    return turn.say(text, (*chips, MORE_TIMES))


async def check(turn: Turn, first: date, last: date) -> ToolOutcome:
    search = turn.state.search
    return await turn.tools.call(
        "check_availability",
        {
            "service_id": search.service_id,
            "date_from": first.isoformat(),
            "date_to": last.isoformat(),
            "far_date_confirmed": search.far_date_confirmed,
        },
    )


def _closed_days(turn: Turn) -> list[date]:
    """The days asked for, when the practice is closed on every one of them."""
    search = turn.state.search
    if search.first_day is None or search.first_day < turn.today:
        return []
    last = search.last_day or search.first_day
    days = [search.first_day + timedelta(days=n) for n in range(min((last - search.first_day).days + 1, 14))]
    return days if days and all(turn.calendar.closed(d) for d in days) else []


def _around_closed(turn: Turn, closed: list[date]) -> str:
    """Say the practice is closed then, and search the nearest open days instead (the time wanted
    is kept)."""
    search = turn.state.search
    before, _ = turn.calendar.open_days_near(closed[0], turn.today)
    _, after = turn.calendar.open_days_near(closed[-1], turn.today)
    near = [d for d in (before, after) if d is not None]
    said = turn.calendar.why_closed(closed)
    if not near:
        return f"{said} "
    search.first_day, search.last_day = near[0], near[-1]
    search.not_before = search.not_after = None
    names = " and ".join(turn.day_name(d) for d in near)
    nearest = "nearest open days are" if len(near) > 1 else "nearest open day is"
    return f"{said} The {nearest} {names}. "


def _minutes(turn: Turn) -> int:
    service_id = turn.state.search.service_id
    return next((s.duration_minutes for s in turn.practice.services if s.id == service_id), 15)


def _allowed(turn: Turn, slot: SlotInfo) -> bool:
    search = turn.state.search
    if search.provider_id is not None and slot.provider_id != search.provider_id:
        return False
    if search.not_before is not None and slot.starts_at <= search.not_before:
        return False
    if search.not_after is not None and slot.starts_at >= search.not_after:
        return False
    return slot.starts_at not in search.seen


async def _days_after(turn: Turn, day: date) -> list[SlotInfo]:
    """Nothing on the day asked: the days after it, with the same wishes for the time of day."""
    search = turn.state.search
    later = await check(turn, day + timedelta(days=1), day + timedelta(days=frame.MAX_SEARCH_DAYS))
    if not later.ok:
        return []
    wanted = frame.time_wanted(search)
    return [s for s in later.result if _allowed(turn, s) and within(turn.local(s.starts_at).time(), wanted)]


def _at(turn: Turn, slot: SlotInfo) -> tuple[date, time]:
    local = turn.local(slot.starts_at)
    return local.date(), local.time().replace(tzinfo=None)


def _minutes_from(turn: Turn, slot: SlotInfo, target: time) -> int:
    local = turn.local(slot.starts_at)
    return abs(local.hour * 60 + local.minute - (target.hour * 60 + target.minute))


def _nearest(turn: Turn, slots: list[SlotInfo], target: time, day: date | None) -> list[SlotInfo]:
    """The free times nearest the time asked: on the day asked, then on the nearest days (later days
    first on a tie); with a range of days, the nearest time on each day. Shown in time order."""
    by_day: dict[date, list[SlotInfo]] = {}
    for slot in slots:
        by_day.setdefault(turn.local(slot.starts_at).date(), []).append(slot)
    for found in by_day.values():
        found.sort(key=lambda s: (_minutes_from(turn, s, target), s.starts_at))
    chosen: list[SlotInfo] = []
    if day is not None and day in by_day:
        chosen += _apart(by_day.pop(day), MAX_CHIPS_PER_DAY + 1)
    anchor = day or min(by_day, default=turn.today)
    for other in sorted(by_day, key=lambda d: (abs((d - anchor).days), d < anchor, d)):
        if len(chosen) >= MAX_TIME_CHIPS:
            break
        chosen += _apart(by_day[other], 1 if day is None else 2)[: MAX_TIME_CHIPS - len(chosen)]
    return sorted(chosen, key=lambda s: s.starts_at)


def _apart(ranked: list[SlotInfo], count: int) -> list[SlotInfo]:
    kept: list[SlotInfo] = []
    for slot in ranked:
        if all(abs(slot.starts_at - k.starts_at) >= timedelta(minutes=SPREAD_MINUTES) for k in kept):
            kept.append(slot)
        if len(kept) == count:
            break
    return kept


def _spread(turn: Turn, slots: list[SlotInfo]) -> list[SlotInfo]:
    """Up to six distinct times, at least half an hour apart, at most three per day: a real choice."""
    chosen: list[SlotInfo] = []
    per_day: dict[date, int] = {}
    for slot in slots:
        day = turn.local(slot.starts_at).date()
        too_close = any(abs(slot.starts_at - c.starts_at) < timedelta(minutes=SPREAD_MINUTES) for c in chosen)
        if too_close or per_day.get(day, 0) >= MAX_CHIPS_PER_DAY:
            continue
        chosen.append(slot)
        per_day[day] = per_day.get(day, 0) + 1
        if len(chosen) == MAX_TIME_CHIPS:
            break
    return chosen


def _edge(search: Search) -> time:
    """The time nearest to a part of the day that has none free ("in the evening" -> 5 PM)."""
    wanted = frame.time_wanted(search)
    if wanted.after is not None:
        return wanted.after
    if wanted.before is not None:
        return wanted.before
    return {"morning": time(9), "afternoon": time(14), "evening": time(17)}.get(
        search.part_of_day or "", time(12)
    )


def _wanted(search: Search) -> str:
    wanted = frame.time_wanted(search)
    if wanted.after and wanted.before:
        return f" between {_clock(wanted.after)} and {_clock(wanted.before)}"
    if wanted.after:
        return f" after {_clock(wanted.after)}"
    if wanted.before:
        return f" before {_clock(wanted.before)}"
    return f" in the {search.part_of_day}" if search.part_of_day else ""


def _clock(moment: time) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _verb(turn: Turn) -> str:
    if turn.state.task == "reschedule":
        return "move it to"
    service = turn.service_name(turn.state.search.service_id)
    return f"book{f' your {service}' if service else ''}"
