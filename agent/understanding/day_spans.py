"""Days named as spans or by their place in a month: "next week", "end of next week", "the week after
next", "this weekend", "later this month"; "the third Thursday of next month", "the second-to-last
Wednesday in January", "the last Friday of the month". In the practice's calendar."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from agent.understanding.days import (
    MONTH_ALIASES,
    ORD_WORD,
    WEEKDAY_ALIASES,
    DayAsk,
    Found,
    monday,
    single,
    weekday_after,
)
from agent.understanding.text import ORDINAL_WORDS

_WD = "(?P<wd>" + "|".join(sorted(WEEKDAY_ALIASES, key=len, reverse=True)) + r")\b\.?"
_MON = "(?P<mon>" + "|".join(sorted(MONTH_ALIASES, key=len, reverse=True)) + r")\b\.?"
# Which of a month's weekdays: counted from the start ("third", "3rd") or the end ("last",
# "second-to-last", "penultimate").
_PLACE = (
    rf"(?P<place>(?:(?:{ORD_WORD}|[1-5](?:st|nd|rd|th))[\s-]+(?:to|from)[\s-]+(?:the[\s-]+)?last"
    rf"|penultimate|very last|final|last|{ORD_WORD}|[1-5](?:st|nd|rd|th)))"
)
_WHICH_MONTH = r"(?P<which>this|next|the|the next|the following|the coming)\s+month\b"
_NTH_WEEKDAY = re.compile(
    rf"\b(?:on\s+)?(?:the\s+)?{_PLACE}\s+{_WD}\s+(?:of|in)\s+"
    rf"(?:{_WHICH_MONTH}|{_MON}(?:,?\s+(?P<year>20\d\d))?)"
)


def _place(words: str) -> int | None:
    """1 for the first, 2 for the second..., -1 for the last, -2 for the second-to-last (and the
    "second from last")."""
    words = words.replace("-", " ")
    if words in {"last", "very last", "final"}:
        return -1
    if words == "penultimate":
        return -2
    counted = re.match(r"(\w+)", words)
    assert counted is not None
    head = counted.group(1)
    number = ORDINAL_WORDS.get(head) or (int(head[:-2]) if head[:-2].isdigit() else None)
    if number is None or not 1 <= number <= 5:
        return None
    return -number if "last" in words else number


def nth_weekday(message: str, today: date) -> list[Found]:
    found = []
    for m in _NTH_WEEKDAY.finditer(message):
        place = _place(m["place"])
        if place is None:
            continue
        year, month = today.year, today.month
        if m["mon"]:
            month = MONTH_ALIASES[m["mon"]]
            year = int(m["year"]) if m["year"] else year + (month < today.month)
        elif m["which"] not in {"this"} and not (m["which"] == "the" and _still_ahead(today, m, place)):
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        last = calendar.monthrange(year, month)[1]
        weekday = WEEKDAY_ALIASES[m["wd"]]
        matching = [d for d in range(1, last + 1) if date(year, month, d).weekday() == weekday]
        if -len(matching) <= place <= len(matching):
            day = date(year, month, matching[place - 1 if place > 0 else place])
            found += single(m.start(), m.end(), day)
    return found


def _still_ahead(today: date, m: re.Match[str], place: int) -> bool:
    """ "the last Friday of the month": this month's, unless it has passed."""
    last = calendar.monthrange(today.year, today.month)[1]
    weekday = WEEKDAY_ALIASES[m["wd"]]
    matching = [d for d in range(1, last + 1) if date(today.year, today.month, d).weekday() == weekday]
    if not -len(matching) <= place <= len(matching):
        return False
    return date(today.year, today.month, matching[place - 1 if place > 0 else place]) >= today


def ranges(message: str, today: date) -> list[Found]:
    this_monday = monday(today)
    next_monday = this_monday + timedelta(days=7)
    month_end = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    next_month = month_end + timedelta(days=1)
    next_month_end = date(
        next_month.year, next_month.month, calendar.monthrange(next_month.year, next_month.month)[1]
    )
    saturday = weekday_after(today, 5, include=True)
    spans: tuple[tuple[str, date, date], ...] = (
        (
            r"\b(?:the\s+)?week after next\b",
            next_monday + timedelta(days=7),
            next_monday + timedelta(days=13),
        ),
        (
            r"\bearly next week\b|\bbeginning of next week\b|\bstart of next week\b",
            next_monday,
            next_monday + timedelta(days=2),
        ),
        (r"\b(?:late|end of) next week\b", next_monday + timedelta(days=3), next_monday + timedelta(days=6)),
        (
            r"\bnext weekend\b",
            weekday_after(next_monday, 5, include=True),
            weekday_after(next_monday, 6, include=True),
        ),
        (r"\b(?:this|the|over the)\s+weekend\b|\bweekend\b", saturday, saturday + timedelta(days=1)),
        (r"\bnext week\b", next_monday, next_monday + timedelta(days=6)),
        (
            r"\blater (?:this|in the) week\b",
            min(today + timedelta(days=1), this_monday + timedelta(days=6)),
            this_monday + timedelta(days=6),
        ),
        (
            r"\b(?:end|rest) of (?:the|this) week\b",
            max(today, this_monday + timedelta(days=3)),
            this_monday + timedelta(days=6),
        ),
        (r"\bthis week\b", today, this_monday + timedelta(days=6)),
        (r"\b(?:end|last week) of next month\b", next_month_end - timedelta(days=6), next_month_end),
        (
            r"\b(?:beginning|start|first week) of next month\b|\bearly next month\b",
            next_month,
            next_month + timedelta(days=6),
        ),
        (r"\bnext month\b", next_month, next_month + timedelta(days=13)),
        (
            r"\b(?:end|last week) of (?:the|this) month\b|\bend of the month\b|\bmonth'?s end\b",
            max(today, month_end - timedelta(days=6)),
            month_end,
        ),
        (r"\blater (?:this|in the) month\b", min(today + timedelta(days=7), month_end), month_end),
        (r"\b(?:the )?next (?:few|couple of|two) weeks\b", today, today + timedelta(days=13)),
        (
            r"\b(?:the )?next (?:few|couple of) days\b|\bin the next few days\b",
            today,
            today + timedelta(days=3),
        ),
    )
    found = []
    for pattern, first, last in spans:
        for m in re.finditer(pattern, message):
            found.append(Found(m.start(), m.end(), DayAsk(first, max(first, last))))
    return found
