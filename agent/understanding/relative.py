"""Times said relative to an appointment already on the table: "the same day in the afternoon", "an
hour later", "forty-five minutes later", "push it back a fortnight", "bring it forward a day", "same
time next week", "the Thursday after", "the week after". The reader only says how; the dialogue
manager knows the appointment they are relative to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.understanding.dates import WEEKDAYS
from agent.understanding.text import NUMBER_WORDS

_WD = "(?P<wd>" + "|".join(WEEKDAYS) + ")"
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TENS = ("twenty", "thirty", "forty", "fifty")
# How much: "2", "a", "an", "forty-five", "twenty five", "half an", "a quarter of an", "three
# quarters of an", "an hour and a half", "a couple of".
_AMOUNT = (
    r"(?P<n>\d{1,3}|an hour and a half|(?:a |three )?quarters? of an|half an?|a couple of|couple of|"
    rf"(?:{'|'.join(_TENS)})(?:[\s-](?:{'|'.join(_UNITS)}))?|"
    r"a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|ninety)"
)
_UNIT = r"(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|fortnights?)"
_LATER = {"later", "after", "back", "out"}
# A verb that moves an appointment along, and which way: "push it back", "bring it forward".
_MOVED_BY = (
    r"\b(?P<verb>push|put|move|set|shift|bump|knock|bring)\s+(?:it|that|this|them|"
    r"(?:my|the|our)\s+(?:[a-z-]+\s+){0,2}?(?:appointment|appt|booking|visit|one|[a-z-]+))?\s*"
    r"(?P<dir>back|forward|later|earlier|up|out)\s+(?:by\s+)?" + _AMOUNT + r"\s*" + _UNIT + r"?\b"
)


@dataclass(frozen=True)
class Relative:
    same_day: bool = False
    same_time: bool = False
    day_offset: int = 0
    weekday_after: int | None = None  # the first such weekday after the appointment's day
    minutes: int = 0  # moved by this much (negative: earlier)
    direction: str | None = None  # "later" | "earlier" on the same day, no amount given
    week_after: bool = False  # "the week after": any day of the week after the appointment's


def _count(word: str) -> float:
    word = word.replace("-", " ")
    if word.isdigit():
        return int(word)
    if word in {"a", "an", "one"}:
        return 1
    if "couple" in word:
        return 2
    if word.startswith("half"):
        return 0.5
    if word.startswith("three quarters"):
        return 0.75
    if "quarter" in word:
        return 0.25
    if word == "an hour and a half":
        return 1.5
    return sum(NUMBER_WORDS.get(part, 0) for part in word.split()) or (90 if word == "ninety" else 0)


def _span(word: str, unit: str | None) -> tuple[int, int]:
    """(days, minutes) that an amount of a unit moves an appointment by."""
    count = _count(word)
    if word == "an hour and a half" or unit is None:
        return 0, round(count * 60)
    if unit.startswith("fortnight"):
        return round(count * 14), 0
    if unit.startswith("week"):
        return round(count * 7), 0
    if unit.startswith("day"):
        return round(count), 0
    return 0, round(count * (60 if unit.startswith(("hour", "hr")) else 1))


def read_relative(message: str) -> tuple[Relative | None, list[tuple[int, int]]]:
    spans: list[tuple[int, int]] = []
    found: dict[str, object] = {}

    def take(pattern: str, **values: object) -> re.Match[str] | None:
        match = re.search(pattern, message)
        if match and not any(match.start() < e and s < match.end() for s, e in spans):
            spans.append(match.span())
            found.update(values)
            return match
        return None

    def moved_by(amount: str, unit: str | None, later: bool) -> None:
        days, minutes = _span(amount, unit)
        sign = 1 if later else -1
        if days:
            found["day_offset"] = sign * days
            found["same_time"] = True
        else:
            found["minutes"] = sign * minutes

    take(
        r"\b(?:(?:at )?the same time|same time)\s+(?:the following|next|the next)\s+week\b",
        same_time=True,
        day_offset=7,
    )
    take(
        r"\b(?:the )?(?:next|following) week(?:,)? (?:at )?(?:the )?same time\b", same_time=True, day_offset=7
    )
    verb = take(_MOVED_BY)
    if verb:
        if verb["unit"] or verb["n"].startswith(("half", "an hour")):
            moved_by(verb["n"], verb["unit"], verb["dir"] in _LATER)
        else:
            spans.pop()
    moved = take(rf"\b{_AMOUNT}\s*{_UNIT}?\s+(?P<dir>later|earlier|sooner|after|before)\b(?! that day)")
    if moved:
        if moved["unit"] or moved["n"].startswith(("half", "an hour")):
            moved_by(moved["n"], moved["unit"], moved["dir"] in _LATER)
        else:
            spans.pop()
    after = take(rf"\bthe (?:{_WD} after(?: that)?(?! next)|following {_WD.replace('wd', 'wd2')})\b")
    if after:
        found["weekday_after"] = WEEKDAYS.index(after["wd"] or after["wd2"])
    take(r"\bthe (?:week after(?! next)|following week)\b", week_after=True)
    take(r"\b(?:the )?(?:next|following) day\b|\bthe day after\b(?! tomorrow)", day_offset=1)
    take(r"\bthe day before\b", day_offset=-1)
    same_day = take(r"\b(?P<dir>later|earlier) (?:that|the same|in the|on that|on the same) day\b")
    if same_day:
        found.update(same_day=True, direction=same_day["dir"])
    take(r"\b(?:the )?same day\b|\bthat (?:same )?day\b|\bon the day\b", same_day=True)
    take(r"\b(?:at )?(?:the )?same time\b|\bat that time\b", same_time=True)
    if not found:
        return None, []
    if found.get("week_after") and found.get("same_time"):
        found.update(week_after=False, day_offset=7)  # "the following week, same time": a week on
    return Relative(**found), spans  # type: ignore[arg-type]
