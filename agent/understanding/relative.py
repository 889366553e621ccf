"""Times said relative to an appointment already on the table: "the same day in the afternoon", "an
hour later", "same time next week", "the Thursday after". The reader only says how; the dialogue
manager knows the appointment they are relative to."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.understanding.dates import WEEKDAYS
from agent.understanding.text import NUMBER_WORDS

_WD = "(?P<wd>" + "|".join(WEEKDAYS) + ")"
_AMOUNT = r"(?P<n>\d+|a|an|one|two|three|four|five|six|half an?|an hour and a half|a couple of)"


@dataclass(frozen=True)
class Relative:
    same_day: bool = False
    same_time: bool = False
    day_offset: int = 0
    weekday_after: int | None = None  # the first such weekday after the appointment's day
    minutes: int = 0  # moved by this much (negative: earlier)
    direction: str | None = None  # "later" | "earlier" on the same day, no amount given


def _amount(word: str, unit: str) -> int:
    if word.startswith("half"):
        return 30
    if word == "an hour and a half":
        return 90
    if "couple" in word:
        count = 2
    elif word in {"a", "an"}:
        count = 1
    else:
        count = int(word) if word.isdigit() else NUMBER_WORDS[word]
    return count * (60 if unit.startswith(("hour", "hr")) else 1)


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

    take(
        r"\b(?:(?:at )?the same time|same time)\s+(?:the following|next|the next)\s+week\b",
        same_time=True,
        day_offset=7,
    )
    take(r"\bnext week(?:,)? (?:at )?(?:the )?same time\b", same_time=True, day_offset=7)
    moved = take(
        rf"\b{_AMOUNT}\s*(?P<unit>hours?|hrs?|minutes?|mins?)?\s+(?P<dir>later|earlier|sooner|after|before)\b"
    )
    if moved:
        if moved["unit"] or moved["n"].startswith(("half", "an hour")):
            sign = 1 if moved["dir"] in {"later", "after"} else -1
            found["minutes"] = sign * _amount(moved["n"], moved["unit"] or "hour")
        else:
            spans.pop()
    weeks = take(r"\b(?P<n>a|one|two|\d) weeks? (?:later|after(?: that)?)\b")
    if weeks:
        found["day_offset"] = 7 * (
            1 if weeks["n"] in {"a", "one"} else int(NUMBER_WORDS.get(weeks["n"], weeks["n"]))
        )
        found["same_time"] = True
    after = take(rf"\bthe (?:{_WD} after(?: that)?|following {_WD.replace('wd', 'wd2')})\b")
    if after:
        found["weekday_after"] = WEEKDAYS.index(after["wd"] or after["wd2"])
    take(r"\b(?:the )?(?:next|following) day\b|\bthe day after\b(?! tomorrow)", day_offset=1)
    take(r"\bthe day before\b", day_offset=-1)
    later = take(r"\b(?P<dir>later|earlier) (?:that|the same|in the|on that|on the same) day\b")
    if later:
        found.update(same_day=True, direction=later["dir"])
    take(r"\b(?:the )?same day\b|\bthat (?:same )?day\b|\bon the day\b", same_day=True)
    take(r"\b(?:at )?(?:the )?same time\b|\bat that time\b", same_time=True)
    if not found:
        return None, []
    return Relative(**found), spans  # type: ignore[arg-type]
