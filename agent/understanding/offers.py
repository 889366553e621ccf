"""Which of the options on the table a message points at: "the second one", "the last one", "the
10:30", "1:30 works", "the Tuesday one", "the earlier one", "any of them"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from agent.understanding.dates import WEEKDAYS, DayAsk
from agent.understanding.times import TimeAsk

_POSITIONS = {
    "first": 0,
    "1st": 0,
    "top": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "sixth": 5,
    "6th": 5,
    "seventh": 6,
    "7th": 6,
}
_OPTION_NOUN = r"(?:one|option|choice|slot|time|appointment|spot)"
_ORDINAL = re.compile(
    r"\b(?:the\s+)?(?P<pos>second (?:to )?last|penultimate|last|final|bottom|middle|"
    r"first|second|third|fourth|fifth|sixth|seventh|top)\b(?!\s+(?:of|thing|week|weekend|day|visit"
    r"|appointment i|time (?:i|we|you)))"
    rf"|\b(?:the\s+)?(?P<num>[1-7](?:st|nd|rd|th))\s+{_OPTION_NOUN}\b"
    r"|(?:\b(?:option|number|no\.?|choice)|#)\s*(?P<digit>[1-9])\b"
)
_EXTREME = re.compile(
    rf"\b(?:the\s+)?(?P<which>earlier|earliest|sooner|soonest|later|latest)\s+(?:{_OPTION_NOUN}"
    rf"|of the (?:two|three|times))\b"
    r"|\bthe (?P<which2>earliest|latest)\b"
)
_ANY = re.compile(
    r"\b(?:any(?: one)?(?: of (?:them|those|these|the times))?|whichever|either(?: one)?)"
    r"(?:\s+(?:is|are|will|would|works?))?\s*(?:be\s+)?(?:fine|ok|okay|good|great|works?|do)\b"
    r"|\bwhichever\b|\b(?:i )?don'?t mind(?: which)?\b|\bdoesn'?t matter\b"
)
_REFERS = re.compile(
    r"\b(?:one|works?|is (?:good|fine|great|perfect|best|better|ok|okay)|sounds (?:good|great)|please|"
    r"i'?ll take|let'?s (?:do|go with)|go with|take|book (?:it|that|me)|that'?s (?:good|fine|great))\b"
)
_BARE_CLOCK = re.compile(
    r"\b(?:the|at)\s+(?P<h>1[0-2]|[1-9])(?::(?P<m>[0-5]\d))?\b(?!\s*(?:st|nd|rd|th|/|days?|weeks?))"
)


@dataclass(frozen=True)
class Offered:
    """An option as the patient saw it; `starts_at` in the practice's timezone when it is a time."""

    label: str
    starts_at: datetime | None = None


def pick_options(
    message: str, offered: tuple[Offered, ...], days: DayAsk | None, time: TimeAsk | None
) -> tuple[int, ...]:
    """The indexes of the options the normalized message points at: one when it chose, several when
    it narrowed ("the Tuesday one" of three Tuesdays), none when it named nothing on offer."""
    if not offered:
        return ()
    timed = [(i, o.starts_at) for i, o in enumerate(offered) if o.starts_at is not None]
    # Positions count the options themselves, not a "More times" chip after them.
    counted = [i for i, _ in timed] if timed else list(range(len(offered)))
    position = _position(message, len(counted))
    if position is not None:
        return (counted[position],)
    extreme = _EXTREME.search(message)
    if extreme and timed:
        which = extreme.group("which") or extreme.group("which2")
        pick = min if which in {"earlier", "earliest", "sooner", "soonest"} else max
        return (pick(timed, key=lambda pair: pair[1])[0],)
    if _ANY.search(message):
        return (0,)
    candidates = list(range(len(offered)))
    narrowed = False
    if timed:
        by_time = _at_named_time(message, offered, time)
        by_day = _on_named_day(message, offered, days)
        # A day alone points at an offer only when it says so ("the Thursday one", "Friday works");
        # "what about Thursday?" asks for that day's times instead.
        if by_day is not None and (by_time is not None or _REFERS.search(message)):
            candidates, narrowed = [i for i in candidates if i in by_day], True
        if by_time is not None:
            candidates, narrowed = [i for i in candidates if i in by_time], True
        by_words = _by_label_words(message, offered)
        if by_words is not None:
            candidates, narrowed = [i for i in candidates if i in by_words], True
    return tuple(candidates) if narrowed else ()


def _position(message: str, count: int) -> int | None:
    match = _ORDINAL.search(message)
    if match is None:
        return None
    if match.group("digit"):
        index = int(match.group("digit")) - 1
    elif match.group("num"):
        index = _POSITIONS[match.group("num")]
    else:
        word = match.group("pos")
        if word in {"last", "final", "bottom"}:
            index = count - 1
        elif word in {"second last", "second to last", "penultimate"}:
            index = count - 2
        elif word == "middle":
            index = count // 2
        else:
            index = _POSITIONS[word]
    return index if 0 <= index < count else None


def _on_named_day(message: str, offered: tuple[Offered, ...], days: DayAsk | None) -> set[int] | None:
    named_weekdays = {i for i, pattern in enumerate(_WEEKDAY_WORDS) if re.search(pattern, message)}
    if named_weekdays:
        return {
            i
            for i, o in enumerate(offered)
            if o.starts_at is not None and o.starts_at.weekday() in named_weekdays
        }
    if days is not None:
        return {
            i
            for i, o in enumerate(offered)
            if o.starts_at is not None and days.first <= o.starts_at.date() <= days.last
        }
    return None


def _at_named_time(message: str, offered: tuple[Offered, ...], time: TimeAsk | None) -> set[int] | None:
    if time is not None and time.exact is not None:
        exact = time.exact
        same = {
            i
            for i, o in enumerate(offered)
            if o.starts_at is not None
            and (o.starts_at.hour, o.starts_at.minute) == (exact.hour, exact.minute)
        }
        if same or not time.approximate:
            return same
    bare = _BARE_CLOCK.search(message)
    if bare is None:
        return None
    hour, minute = int(bare.group("h")), bare.group("m")
    return {
        i
        for i, o in enumerate(offered)
        if o.starts_at is not None
        and (o.starts_at.hour % 12 or 12) == hour
        and (minute is None or o.starts_at.minute == int(minute))
    } or None


def _by_label_words(message: str, offered: tuple[Offered, ...]) -> set[int] | None:
    """Options named by a word of their label that the others lack ("the cleaning" of two bookings);
    only among times, where the labels name what they are (a menu's labels are read as intents)."""
    words = set(re.findall(r"[a-z]{4,}", message))
    if not words:
        return None
    hits = {
        i
        for i, o in enumerate(offered)
        if words & (set(re.findall(r"[a-z]{4,}", o.label.lower())) - _LABEL_NOISE)
    }
    return hits if hits and len(hits) < len(offered) else None


# Short forms that are also words ("sat", "sun", "wed") are left out, as in dates.
_SHORT_WEEKDAYS = ("|mon", "|tues?", "|weds", "|thu|thur|thurs", "|fri", "", "")
_WEEKDAY_WORDS = tuple(
    rf"\b(?:{name}s?{short})\b" for name, short in zip(WEEKDAYS, _SHORT_WEEKDAYS, strict=True)
)
_LABEL_NOISE = frozenset({"with", "more", "times", "from"} | {d[:3] for d in WEEKDAYS} | set(WEEKDAYS))
