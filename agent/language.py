"""Reading patients' messages without a language model: intents, dates, times, contact details.

Everything here is a pure function of the text and "today", so the deterministic engine behaves the
same in tests, in the demo and in production when no LLM is configured.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Three-letter forms that are also English words ("sat", "sun", "wed") are left out.
_WEEKDAY_ALIASES = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
}
_WEEKDAY_WORDS = "|".join(sorted(_WEEKDAY_ALIASES, key=len, reverse=True))
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
_MONTH_ALIASES = {
    **{name: i + 1 for i, name in enumerate(MONTHS)},
    **{name[:3]: i + 1 for i, name in enumerate(MONTHS)},
    "sept": 9,
}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "a": 1, "an": 1}
PARTS_OF_DAY = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(23, 59)),
}

_INTENT_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "human",
        r"\b(human|real person|a person|receptionist|someone (real|at the (office|clinic|practice))|"
        r"staff|operator|speak to (someone|somebody)|talk to (someone|somebody)|call me back)\b",
    ),
    ("waitlist", r"\b(wait ?list|waiting list)\b"),
    ("cancel", r"\b(cancel|call off|can'?t make it|cannot make it|won'?t make it|can'?t come)\b"),
    (
        "reschedule",
        r"\b(reschedul\w*|re-schedul\w*|move (my|the|it)|change (my|the) (appointment|booking|time)|"
        r"different (time|day)|another (time|day)|postpone|push (it|my appointment) back)\b",
    ),
    (
        "lookup",
        r"\b(when is my|when'?s my|what time is my|do i have (an|a|any) (appointment|booking)|"
        r"check my (appointment|booking)|look up my|details of my|my upcoming|my next appointment)",
    ),
    (
        "hours",
        r"\b(opening hours|office hours|your hours|hours|when are you open|are you open|"
        r"what time do you (open|close)|open on|closed on)\b",
    ),
    (
        "book",
        r"\b(book|booking|appointment|schedule|make an? (appointment|booking)|see (the|a) (doctor|dentist)|"
        r"available|availability|slot|openings|come in|earliest|soonest|first available)\b",
    ),
    ("greeting", r"^(hi|hello|hey|good (morning|afternoon|evening)|hiya)\b"),
    ("thanks", r"\b(thanks|thank you|that'?s all|bye|goodbye)\b"),
)
_INTENTS = [(name, re.compile(pattern)) for name, pattern in _INTENT_PATTERNS]

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w(])(\+?\(?\d[\d\s().-]{6,}\d)(?![\w])")
_REFERENCE = re.compile(r"\b([A-HJKMNP-Z2-9]{6})\b")
_NAME_LEADS = re.compile(
    r"\b(?:my name is|my name's|name is|i am|i'm|this is|it's|call me|under)\s+"
    r"([A-Za-z][A-Za-z'\-]+(?:\s+[A-Za-z][A-Za-z'\-]+){0,3})",
    re.IGNORECASE,
)
_NOT_NAMES = frozenset(
    {
        "looking",
        "trying",
        "wondering",
        "calling",
        "here",
        "available",
        "free",
        "good",
        "fine",
        "not",
        "sure",
        "interested",
        "hoping",
        "after",
        "busy",
        "sorry",
        "new",
        "a",
        "an",
        "the",
        "in",
        "at",
        "going",
    }
)
_YES = re.compile(
    r"^(yes|y|yeah|yep|yup|sure|ok|okay|correct|confirm|please do|go ahead|sounds good|perfect|"
    r"great|that works|book it|do it)\b"
)
_NO = re.compile(r"^(no|n|nope|nah|not really|cancel that|don'?t|never ?mind|wrong)\b")


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()


def intents(text: str) -> list[str]:
    """Every intent the message expresses, strongest first (cancel beats book in "cancel my booking")."""
    message = normalize(text)
    return [name for name, pattern in _INTENTS if pattern.search(message)]


def is_yes(text: str) -> bool:
    return bool(_YES.match(normalize(text)))


def is_no(text: str) -> bool:
    return bool(_NO.match(normalize(text)))


def find_email(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0).lower() if match else None


def find_phone(text: str) -> str | None:
    for match in _PHONE.finditer(_EMAIL.sub(" ", text)):
        digits = re.sub(r"\D", "", match.group(1))
        if 7 <= len(digits) <= 15:
            return match.group(1).strip()
    return None


def find_reference(text: str, *, expecting: bool = False) -> str | None:
    """A booking reference: six characters of the unambiguous alphabet (no 0/O/1/I/L).

    A token counts when it has a digit, is written in capitals, follows "reference", "ref", "code"
    or "booking", or when we just asked for the reference; so "thanks" is not read as one.
    """
    for match in re.finditer(r"\b([A-Za-z2-9]{6})\b", text):
        token = match.group(1)
        candidate = token.upper()
        if not _REFERENCE.fullmatch(candidate) or candidate.isdigit():
            continue
        introduced = re.search(
            r"\b(reference|ref|code|booking|number)( is| was|:)?\s*$", text[: match.start()], re.I
        )
        if expecting or introduced or token.isupper() or any(ch.isdigit() for ch in token):
            return candidate
    return None


def find_name(text: str, *, expecting_name: bool) -> str | None:
    """A person's name, said outright ("I'm Jane Doe") or as the whole answer when we asked for it."""
    match = _NAME_LEADS.search(text)
    if match:
        words = [
            w for w in match.group(1).split() if w.lower() not in {"and", "my", "phone", "email", "number"}
        ]
        if words and words[0].lower() not in _NOT_NAMES:
            return " ".join(w[:1].upper() + w[1:] for w in words[:4])
    if expecting_name:
        candidate = _EMAIL.sub(" ", text)
        candidate = _PHONE.sub(" ", candidate)
        candidate = re.sub(r"[,;]+", " ", candidate).strip(" .!")
        words = candidate.split()
        plausible = 1 <= len(words) <= 4 and all(re.fullmatch(r"[A-Za-z][A-Za-z'\-.]*", w) for w in words)
        says_something_else = intents(candidate) or is_yes(candidate) or is_no(candidate)
        # Any fixed day works: only whether the words name a time matters here.
        says_when = parse_when(candidate, date(2000, 1, 3)).said_anything
        if plausible and words[0].lower() not in _NOT_NAMES and not says_something_else and not says_when:
            return " ".join(w[:1].upper() + w[1:] for w in words)
    return None


# ---- services ----


@dataclass(frozen=True)
class Named:
    id: str
    names: tuple[str, ...]  # the service's name and its aliases


def match_service(text: str, services: Iterable[Named]) -> str | None:
    """The id of the service the message names, by name, alias, plural or a near spelling."""
    message = normalize(text)
    words = re.findall(r"[a-z0-9]+", message)
    best: tuple[int, str] | None = None
    for service in services:
        for name in service.names:
            phrase = normalize(name)
            tokens = re.findall(r"[a-z0-9]+", phrase)
            if not tokens:
                continue
            pattern = r"\b" + r"[\s-]*".join(re.escape(t) for t in tokens) + r"s?\b"
            if re.search(pattern, message):
                score = len(phrase)
                if best is None or score > best[0]:
                    best = (score, service.id)
    if best is not None:
        return best[1]
    # Typos: one word close to a one-word name ("chekup", "clening").
    singles = {
        normalize(name): service.id for service in services for name in service.names if " " not in name
    }
    for word in words:
        if len(word) >= 5:
            close = difflib.get_close_matches(word, list(singles), n=1, cutoff=0.8)
            if close:
                return singles[close[0]]
    return None


# ---- dates and times ----


@dataclass(frozen=True)
class When:
    """What a message says about when: a day range, maybe a time of day or an exact time."""

    first_day: date | None = None
    last_day: date | None = None
    part_of_day: str | None = None
    exact_time: time | None = None
    earliest: bool = False
    after: time | None = None
    before: time | None = None

    @property
    def said_anything(self) -> bool:
        return any(
            (self.first_day, self.part_of_day, self.exact_time, self.earliest, self.after, self.before)
        )


def parse_when(text: str, today: date) -> When:
    message = normalize(text)
    first, last = _parse_days(message, today)
    part = next((p for p in PARTS_OF_DAY if re.search(rf"\b{p}s?\b", message)), None)
    if part is None and re.search(r"\btonight\b", message):
        part = "evening"
    earliest = bool(
        re.search(r"\b(earliest|soonest|first available|asap|as soon as possible|next available)\b", message)
    )
    after = _clock(message, r"\b(?:after|from|later than)\s+")
    before = _clock(message, r"\b(?:before|by|earlier than)\s+")
    exact = None if (after or before) else _exact_time(message)
    return When(first, last, part, exact, earliest, after, before)


def _parse_days(message: str, today: date) -> tuple[date | None, date | None]:
    if re.search(r"\bday after tomorrow\b", message):
        day = today + timedelta(days=2)
        return day, day
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", message):
        return today, today
    if re.search(r"\b(tomorrow|tmrw|tmr)\b", message):
        day = today + timedelta(days=1)
        return day, day
    match = re.search(r"\bin (\d+|one|two|three|four|five|six|a|an) (day|days|week|weeks)\b", message)
    if match:
        count = int(match.group(1)) if match.group(1).isdigit() else _NUMBER_WORDS[match.group(1)]
        day = today + timedelta(days=count * (7 if match.group(2).startswith("week") else 1))
        return day, day
    if re.search(r"\bnext week\b", message):
        monday = today + timedelta(days=7 - today.weekday())
        return monday, monday + timedelta(days=6)
    if re.search(r"\bthis week\b", message):
        return today, today + timedelta(days=6 - today.weekday())
    if re.search(r"\b(this|the) weekend\b", message):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        return saturday, saturday + timedelta(days=1)
    explicit = _explicit_date(message, today)
    if explicit is not None:
        return explicit, explicit
    weekday = re.search(rf"\b(next |this |on |coming )?({_WEEKDAY_WORDS})s?\b", message)
    if weekday:
        ahead = (_WEEKDAY_ALIASES[weekday.group(2)] - today.weekday()) % 7
        if ahead == 0 and weekday.group(1) == "next ":
            ahead = 7
        day = today + timedelta(days=ahead)
        return day, day
    return None, None


def _explicit_date(message: str, today: date) -> date | None:
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", message)
    if iso:
        return _safe_date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
    month_names = "|".join(sorted(_MONTH_ALIASES, key=len, reverse=True))
    month_day = re.search(rf"\b({month_names})\.? (\d{{1,2}})(st|nd|rd|th)?\b(?!:)", message)
    day_month = re.search(rf"\b(\d{{1,2}})(st|nd|rd|th)? (of )?({month_names})\b", message)
    numeric = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", message)
    if month_day:
        month, day, year = _MONTH_ALIASES[month_day.group(1)], int(month_day.group(2)), None
    elif day_month:
        month, day, year = _MONTH_ALIASES[day_month.group(4)], int(day_month.group(1)), None
    elif numeric:
        # Month first, as written in the US; the deployments this engine serves first.
        month, day = int(numeric.group(1)), int(numeric.group(2))
        year = int(numeric.group(3)) if numeric.group(3) else None
        if year is not None and year < 100:
            year += 2000
    else:
        return None
    if year is not None:
        return _safe_date(year, month, day)
    candidate = _safe_date(today.year, month, day)
    if candidate is not None and candidate < today:
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_CLOCK = (
    r"(?:(?P<word>noon|midday|midnight)"
    r"|(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<meridiem>a\.?m\.?|p\.?m\.?)?)"
    r"(?!\s*(?:st|nd|rd|th|/|days?|weeks?)\b)(?=\W|$)"
)


def _to_time(match: re.Match[str], *, assume_afternoon: bool) -> time | None:
    word = match.group("word")
    if word in {"noon", "midday"}:
        return time(12)
    if word == "midnight":
        return time(0)
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    meridiem = (match.group("meridiem") or "").replace(".", "")
    if hour > 23 or minute > 59 or (meridiem and not 1 <= hour <= 12):
        return None
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    elif not meridiem and assume_afternoon and 1 <= hour <= 7:
        hour += 12  # "at 3" at a practice means 3 in the afternoon
    return time(hour, minute)


def _clock(message: str, lead: str) -> time | None:
    match = re.search(lead + _CLOCK, message)
    return _to_time(match, assume_afternoon=True) if match else None


def _exact_time(message: str) -> time | None:
    """A clock time: "10am", "10:30", "at 3", "noon"; a bare number is a time only after "at"."""
    for match in re.finditer(r"\b" + _CLOCK, message):
        said_at = message[: match.start()].endswith("at ")
        if match.group("word") or match.group("meridiem") or match.group("minute") or said_at:
            found = _to_time(match, assume_afternoon=True)
            if found is not None:
                return found
    return None


def within_part_of_day(moment: time, when: When) -> bool:
    if when.part_of_day is not None:
        start, end = PARTS_OF_DAY[when.part_of_day]
        if not start <= moment < end:
            return False
    if when.after is not None and moment < when.after:
        return False
    return not (when.before is not None and moment >= when.before)
