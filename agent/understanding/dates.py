"""Days as patients name them, in the practice's calendar, preferring the future.

Absolute ("Dec 3", "12/3", "3rd of December", "the 3rd", "the 3rd of next month"), weekdays with and
without qualifiers ("Friday", "this/next/coming Friday", "Friday next week", "Friday the 4th", "a week
from Tuesday"), relative ("tomorrow", "in 3 days", "the week after next", "end of the month").
A weekday and a date that disagree are both kept, so the caller asks instead of picking one.

Measured on real phrasing (bench/understanding.py), these rules read more of it than `dateparser`
does and add nothing it would catch, so no date library sits on this path.
"""

from __future__ import annotations

import itertools
import re
from datetime import date

from agent.understanding import day_spans, days
from agent.understanding.days import MONTHS, WEEKDAYS, DayAsk, Found
from agent.understanding.text import clause_around

# A message naming more days than this is not a request to act on; the cap keeps the overlap check
# (each day against the days already found) from growing with the square of a hostile message.
MAX_DAYS_PER_READER = 8

__all__ = ["MONTHS", "WEEKDAYS", "DayAsk", "negated", "read_days"]

# Most specific first: a span one reader takes is not read again by a later one.
READERS = (
    day_spans.nth_weekday,
    days.iso_and_numeric,
    days.month_and_day,
    days.day_of_this_or_next_month,
    days.weekday_with_day,
    days.counted,
    days.relative_words,
    days.qualified_weekday,
    day_spans.ranges,
    days.bare_weekday,
    days.ordinal_day,
)


def read_days(message: str, today: date) -> tuple[DayAsk | None, list[tuple[int, int]]]:
    """The day(s) a normalized message asks for, and the spans that said so."""
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for reader in READERS:
        for item in itertools.islice(reader(message, today), MAX_DAYS_PER_READER):
            if any(item.start < end and start < item.end for start, end in taken):
                continue
            found.append(item)
            taken.append((item.start, item.end))
    if not found:
        return None, []
    found.sort(key=lambda f: f.start)
    spans = [(f.start, f.end) for f in found]
    if len(found) >= 2:
        joined = _joined_range(message, found[0], found[1])
        if joined is not None:
            return joined, spans
    # Several days: the one still standing is meant ("Tuesday won't work, how about the 14th?"),
    # and of those the last said ("tomorrow, that's the 10th").
    standing = [f for f in found if not negated(message, f.start, f.end)]
    days = [f for f in standing if f.ask.single]
    standing = [
        f for f in standing if f.ask.single or not any(f.ask.first <= d.ask.first <= f.ask.last for d in days)
    ]
    if not standing:
        return None, spans
    return standing[-1].ask, spans


_CLAUSE_BREAK = re.compile(
    r"[.!?;]|,|\b(?:but|how about|what about|instead|rather|so|if not|otherwise|can you|could you|can we"
    r"|could we|change it to|make it|move it to|try)\b"
)
_NEGATIVE_BEFORE = re.compile(
    r"\b(?:not|can'?t do|cannot do|can'?t make|cannot make|won'?t work for|busy|unavailable|away|"
    r"out of town|had something|have something|got something|no longer|except|other than|anything but)"
    r"\b[^,.;!?]{0,24}$"
)
_NEGATIVE_AFTER = re.compile(
    r"^\s*(?:is |are |'s |would be )?(?:doesn'?t|does not|won'?t|will not|isn'?t|is not|not|no good|bad|"
    r"out|off|busy|impossible|a problem|taken|full|booked|difficult|tough|hard)\b"
    r"|^[^,.;!?]{0,16}\b(?:doesn'?t|won'?t|can'?t) work\b"
)


def negated(message: str, start: int, end: int) -> bool:
    """Whether the words right around message[start:end] rule it out ("I can't do Tuesday", "not
    the 3rd", "Friday doesn't work")."""
    preceding, following = clause_around(message, start, end, _CLAUSE_BREAK)
    return bool(_NEGATIVE_BEFORE.search(preceding) or _NEGATIVE_AFTER.search(following))


def _joined_range(message: str, first: Found, second: Found) -> DayAsk | None:
    """ "Tuesday or Wednesday", "from the 3rd to the 5th": one search over both."""
    between = message[first.end : second.start]
    if not re.fullmatch(r"\s*,?\s*(?:or|and|to|-|through|thru|until|till)\s*(?:on\s+)?(?:the\s+)?", between):
        return None
    low = min(first.ask.first, second.ask.first)
    high = max(first.ask.last, second.ask.last)
    return DayAsk(low, high) if (high - low).days < 14 else None
