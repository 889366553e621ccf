"""The ways a message names a day, one reader each (absolute dates, ordinal days, weekdays with and
without qualifiers, counted and relative days; spans and places in a month are in `day_spans`), in
the practice's calendar, preferring the future. `dates.read_days` chooses among what they find."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from agent.understanding.text import NUMBER_WORDS, ORDINAL_WORDS

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Three-letter forms that are also English words ("sat", "sun", "wed") are left out.
WEEKDAY_ALIASES = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{f"{name}s": i for i, name in enumerate(WEEKDAYS)},
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "weds": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
}
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTH_ALIASES = {
    **{name: i + 1 for i, name in enumerate(MONTHS)},
    **{name[:3]: i + 1 for i, name in enumerate(MONTHS)},
    "sept": 9,
}
_WD = "(?P<wd>" + "|".join(sorted(WEEKDAY_ALIASES, key=len, reverse=True)) + r")\b\.?"
_MON = "(?P<mon>" + "|".join(sorted(MONTH_ALIASES, key=len, reverse=True)) + r")\b\.?"
ORD_WORD = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))
# A day of the month: "3", "3rd", "twenty-first" (normalized to "21th"), "third".
_DAY = rf"(?:(?P<day>[0-3]?\d)(?P<sfx>st|nd|rd|th)?|(?P<dword>{ORD_WORD}))\b"
_DAY_SFX = rf"(?:(?P<day>[0-3]?\d)(?P<sfx>st|nd|rd|th)|(?P<dword>{ORD_WORD}))\b"
_NOT_AN_OPTION = r"(?!\s*(?:one|ones|option|choice|slot|time|thing|things|available|of (?:those|them|these)))"
# Month names that are also verbs: after a bare number they need "of" or an ordinal to be months.
_VERB_MONTHS = frozenset({"may", "mar", "jun"})
_COUNT = r"(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|couple of|a few)"


@dataclass(frozen=True)
class DayAsk:
    """A day or a range of days; `conflict` holds two days when the words named both."""

    first: date
    last: date
    conflict: tuple[date, ...] = ()

    @property
    def single(self) -> bool:
        return self.first == self.last


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    ask: DayAsk


def single(start: int, end: int, day: date | None, conflict: tuple[date, ...] = ()) -> list[Found]:
    return [Found(start, end, DayAsk(day, day, conflict))] if day is not None else []


def _day_number(match: re.Match[str]) -> int:
    if match.group("dword"):
        return ORDINAL_WORDS[match.group("dword")]
    return int(match.group("day"))


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_dom(today: date, day: int, months_ahead: int = 0) -> date | None:
    """The next `day` of a month on or after today (or in the month `months_ahead` from now)."""
    year, month = today.year, today.month
    for offset in range(months_ahead, months_ahead + 13):
        y, m = year + (month - 1 + offset) // 12, (month - 1 + offset) % 12 + 1
        candidate = _safe(y, m, day)
        if candidate is not None and (months_ahead or candidate >= today):
            return candidate
        if months_ahead:
            return None
    return None


def _future_month_day(today: date, month: int, day: int, year: int | None) -> date | None:
    if year is not None:
        return _safe(year, month, day)
    candidate = _safe(today.year, month, day)
    if candidate is not None and candidate < today:
        candidate = _safe(today.year + 1, month, day)
    return candidate


def weekday_after(day: date, weekday: int, *, include: bool) -> date:
    ahead = (weekday - day.weekday()) % 7
    if ahead == 0 and not include:
        ahead = 7
    return day + timedelta(days=ahead)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _count(word: str) -> int:
    if word.isdigit():
        return int(word)
    if word in {"a", "an"}:
        return 1
    if "couple" in word:
        return 2
    if word == "a few":
        return 3
    return NUMBER_WORDS[word]


# ---- readers (`dates.READERS` runs them, most specific first) ----


def iso_and_numeric(message: str, today: date) -> list[Found]:
    found = []
    for m in re.finditer(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", message):
        found += single(m.start(), m.end(), _safe(int(m[1]), int(m[2]), int(m[3])))
    for m in re.finditer(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?(?![\d/])", message):
        year = int(m[3]) if m[3] else None
        if year is not None and year < 100:
            year += 2000
        # Month first, as written in the US; the deployments this engine serves first.
        found += single(m.start(), m.end(), _future_month_day(today, int(m[1]), int(m[2]), year))
    return found


def month_and_day(message: str, today: date) -> list[Found]:
    found = []
    weekday_lead = rf"(?:{_WD.replace('(?P<wd>', '(?P<wd2>')},?\s+)?(?:the\s+)?"
    patterns = (
        rf"\b{weekday_lead}{_MON}\s+(?:the\s+)?{_DAY}(?!:\d)(?:,?\s+(?P<year>20\d\d))?",
        rf"\b{weekday_lead}{_DAY}\s+(?:of\s+)?{_MON}(?:,?\s+(?P<year>20\d\d))?",
    )
    for index, pattern in enumerate(patterns):
        for m in re.finditer(pattern, message):
            plain_number = not (m.group("sfx") or m.group("dword"))
            if index == 1 and plain_number and m.group("mon") in _VERB_MONTHS and " of " not in m.group(0):
                continue  # "at 10 may I come": a verb, not a month
            day = _future_month_day(
                today, MONTH_ALIASES[m.group("mon")], _day_number(m), int(m["year"]) if m["year"] else None
            )
            conflict: tuple[date, ...] = ()
            if day is not None and m.group("wd2"):
                named = weekday_after(today, WEEKDAY_ALIASES[m.group("wd2")], include=True)
                if day.weekday() != WEEKDAY_ALIASES[m.group("wd2")]:
                    conflict = (day, named)
            found += single(m.start(), m.end(), day, conflict)
    return found


def day_of_this_or_next_month(message: str, today: date) -> list[Found]:
    found = []
    pattern = (
        rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?(?:(?P<this>this|the current)|(?P<next>next|the next|the coming|"
        r"the following|the))\s+month\b"
    )
    for m in re.finditer(pattern, message):
        day = _next_dom(today, _day_number(m), months_ahead=1 if m.group("next") else 0)
        if m.group("this"):
            day = _safe(today.year, today.month, _day_number(m))
        found += single(m.start(), m.end(), day)
    return found


def weekday_with_day(message: str, today: date) -> list[Found]:
    """ "Thursday the 3rd": the next date that is both; kept as a conflict if none is near."""
    found = []
    for m in re.finditer(rf"\b{_WD},?\s+(?:the\s+)?{_DAY_SFX}{_NOT_AN_OPTION}", message):
        weekday, number = WEEKDAY_ALIASES[m.group("wd")], _day_number(m)
        both = None
        for months_ahead in range(0, 13):
            candidate = _next_dom(today, number, months_ahead) if months_ahead else _next_dom(today, number)
            if candidate is not None and candidate.weekday() == weekday and candidate >= today:
                both = candidate
                break
        if both is not None and (both - today).days <= 120:
            found += single(m.start(), m.end(), both)
        else:
            dom = _next_dom(today, number)
            named = weekday_after(today, weekday, include=True)
            found += single(m.start(), m.end(), dom, (dom, named) if dom is not None else ())
    return found


def ordinal_day(message: str, today: date) -> list[Found]:
    """ "the 25th", "on the 3rd", "the 1st"; an ordinal word only after "on the" ("on the third")."""
    found = []
    pattern = (
        rf"\b(?:on\s+)?(?:the\s+)?(?P<day>[0-3]?\d)(?P<sfx>st|nd|rd|th)\b{_NOT_AN_OPTION}"
        rf"|\bon\s+the\s+(?P<dword>{ORD_WORD})\b{_NOT_AN_OPTION}"
    )
    for m in re.finditer(pattern, message):
        day = _day_number(m)
        if 1 <= day <= 31:
            found += single(m.start(), m.end(), _next_dom(today, day))
    return found


def relative_words(message: str, today: date) -> list[Found]:
    found = []
    words = (
        (r"\b(?:the\s+)?day after tomorrow\b", 2),
        (r"\b(?:today|tonight|later today|this (?:morning|afternoon|evening))\b", 0),
        (r"\b(?:tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow|2moro)\b", 1),
        (r"\byesterday\b", -1),
    )
    for pattern, offset in words:
        for m in re.finditer(pattern, message):
            found += single(m.start(), m.end(), today + timedelta(days=offset))
    return found


_UNIT_DAYS = {"d": 1, "w": 7, "f": 14}


def counted(message: str, today: date) -> list[Found]:
    """ "in 3 days", "two weeks from now", "in a fortnight", "a week from Tuesday", "a fortnight on
    Friday", "in a couple of days"."""
    found = []
    for m in re.finditer(
        rf"\b(?:in|within)\s+(?:the\s+next\s+)?{_COUNT}\s+(?P<unit>days?|weeks?|fortnights?)\b", message
    ):
        count = _count(m["n"])
        days = count * _UNIT_DAYS[m["unit"][0]]
        if m["n"] == "a few":
            found.append(
                Found(m.start(), m.end(), DayAsk(today + timedelta(days=2), today + timedelta(days=4)))
            )
        else:
            found += single(m.start(), m.end(), today + timedelta(days=days))
    base = rf"(?P<base>now|today|tomorrow|{_WD})"
    for m in re.finditer(
        rf"\b{_COUNT}\s+(?P<unit>days?|weeks?|fortnights?)\s+(?:from|after)\s+(?:this\s+|next\s+)?{base}",
        message,
    ):
        days = _count(m["n"]) * _UNIT_DAYS[m["unit"][0]]
        anchor = today
        if m["base"] == "tomorrow":
            anchor = today + timedelta(days=1)
        elif m.group("wd"):
            anchor = weekday_after(today, WEEKDAY_ALIASES[m.group("wd")], include=False)
        found += single(m.start(), m.end(), anchor + timedelta(days=days))
    for m in re.finditer(rf"\ba (?P<unit>week|fortnight) (?:on|today|tomorrow)\s*{_WD}?", message):
        ahead = timedelta(days=_UNIT_DAYS[m["unit"][0]])
        if m.group("wd"):
            day = weekday_after(today, WEEKDAY_ALIASES[m.group("wd")], include=False) + ahead
        else:
            day = today + ahead + timedelta(days=1 if "tomorrow" in m.group(0) else 0)
        found += single(m.start(), m.end(), day)
    return found


def qualified_weekday(message: str, today: date) -> list[Found]:
    found = []
    next_monday = monday(today) + timedelta(days=7)
    forms = (
        # (pattern, resolver(weekday) -> date)
        (
            rf"\b(?:on\s+)?(?:the\s+)?{_WD}\s+(?:of\s+)?(?:the\s+)?week after next\b",
            lambda w: next_monday + timedelta(days=7 + w),
        ),
        (
            rf"\b(?:the\s+)?{_WD}\s+after next\b",
            lambda w: weekday_after(today, w, include=False) + timedelta(days=7),
        ),
        (rf"\bnext week(?:'s)?\s+(?:on\s+)?{_WD}", lambda w: next_monday + timedelta(days=w)),
        (rf"\b{_WD}\s+(?:of\s+)?next week\b", lambda w: next_monday + timedelta(days=w)),
        (rf"\bthis week(?:'s)?\s+(?:on\s+)?{_WD}", lambda w: monday(today) + timedelta(days=w)),
        (rf"\b{_WD}\s+(?:of\s+)?this week\b", lambda w: monday(today) + timedelta(days=w)),
        (rf"\b(?:this\s+)?coming\s+{_WD}", lambda w: weekday_after(today, w, include=False)),
        (rf"\bnext\s+{_WD}", lambda w: weekday_after(today, w, include=False)),
        (rf"\bthis\s+{_WD}", lambda w: weekday_after(today, w, include=True)),
        (rf"\blast\s+{_WD}", lambda w: weekday_after(today, w, include=False) - timedelta(days=7)),
    )
    for pattern, resolve in forms:
        for m in re.finditer(pattern, message):
            found += single(m.start(), m.end(), resolve(WEEKDAY_ALIASES[m.group("wd")]))
    return found


def bare_weekday(message: str, today: date) -> list[Found]:
    """ "Friday", "on fridays": the next one after today."""
    found = []
    for m in re.finditer(rf"\b(?:on\s+)?{_WD}", message):
        found += single(
            m.start(), m.end(), weekday_after(today, WEEKDAY_ALIASES[m.group("wd")], include=False)
        )
    return found
