"""Times of day as patients say them: "10", "10:30", "half past 2", "quarter to 4", "noon", "around 3",
"after 4", "between 2 and 4", "first thing", "lunchtime", "late afternoon", "ten thirty", "two p m".

A clock time without am/pm is read the way a practice's day runs: 1-7 is the afternoon, 8-11 the
morning, unless a part of the day said next to it ("in the evening", "morning 11:30") says otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from agent.understanding.text import words_after, words_before

PARTS_OF_DAY = {
    "morning": (time(0), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(23, 59)),
}
_PART_WORD = r"(?:morning|afternoon|evening|night|tonight)"
# Part-of-day phrases that narrow more than the three parts do: (part, after, before, earliest).
_NAMED_WINDOWS: tuple[tuple[str, str | None, time | None, time | None, bool], ...] = (
    (r"\bfirst thing\b|\bearly (?:in the )?morning\b|\bas early as possible\b", "morning", None, None, True),
    (r"\blate (?:in the )?morning\b|\bmid-?morning\b", "morning", time(10), None, False),
    (r"\bearly (?:in the )?afternoon\b|\bright after lunch\b", "afternoon", None, time(14), False),
    (r"\bmid-?afternoon\b", "afternoon", time(13, 30), time(16), False),
    (
        r"\blate (?:in the )?afternoon\b|\bend of the (?:work ?)?day\b|\bend of day\b",
        "afternoon",
        time(15),
        None,
        False,
    ),
    (r"\bafter (?:work|school)\b|\blate in the day\b", None, time(15, 30), None, False),
    (r"\bbefore (?:work|school)\b", "morning", None, time(9, 30), False),
    (r"\bafter lunch(?:time)?\b", None, time(13), None, False),
    (r"\bbefore lunch(?:time)?\b", "morning", None, None, False),
    (r"\blunch ?(?:time|break|hour)?\b|\bover lunch\b|\bmidday\b", None, time(11, 30), time(13, 30), False),
)
_MINUTE_WORD = {
    "quarter": 15,
    "a quarter": 15,
    "half": 30,
    "five": 5,
    "ten": 10,
    "twenty": 20,
    "twenty-five": 25,
    "twenty five": 25,
}
_HOUR = r"(?:[01]?\d|2[0-3])"
_MER = r"(?:\s?(?P<mer>am|pm)\b)"
# One clock time. Group names differ per form; `_resolve` reads whichever matched.
_CLOCK = (
    r"\b(?P<word>12 noon|noon|midnight)\b"
    # Digits before "to" only with "minutes": "10 to 12" is a range of hours more often than 11:50.
    r"|(?P<fq>a quarter|quarter|half|twenty[\s-]five|twenty|ten|five|\d{1,2} minutes|\d{1,2}(?=\s(?:past"
    r"|after)\b))"
    r"\s(?P<dir>past|after|to|till|before)\s"
    rf"(?P<fh>{_HOUR})\b(?!:)"
    rf"|(?P<h>{_HOUR})(?:[:.](?P<m>[0-5]\d))?{_MER}?"
    # "half 3" (British: half past three) and "at 1700" (a 24-hour clock without the colon).
    r"|half\s(?P<hh>1[0-2]|[1-9])\b(?!\s*(?:an? )?(?:hours?|days?))"
    r"|(?<=at )(?P<mil>[01]\d|2[0-3])(?P<milm>[0-5]\d)(?:\s?(?:hrs|hours|h))?\b"
)
_CLOCK_RE = re.compile(rf"(?<![\d:/$£€.,])(?:{_CLOCK})(?![\d:/%]|\.\d|,\d)")
_LEAD = (
    r"(?:at|around|about|after|before|by|until|till|til|from|between|and|to|or|"
    r"approximately|roughly|say|like|maybe|perhaps|later than|earlier than|no later than|no earlier than)"
)
_AROUND = re.compile(r"(?:around|about|approximately|roughly|-?ish|or so|give or take)")
_AFTER_LEAD = re.compile(r"(?:after|later than|no earlier than|from|starting|any ?time after|not before)\s*$")
_BEFORE_LEAD = re.compile(r"(?:before|by|until|till|til|earlier than|no later than|not after|up to)\s*$")
_AFTER_TAIL = re.compile(
    r"^\s*(?:or (?:later|after)|onwards?|and (?:later|after)|at the earliest|or any ?time after)\b"
)
_BEFORE_TAIL = re.compile(r"^\s*(?:or (?:earlier|before)|at the latest)\b")


@dataclass(frozen=True)
class TimeAsk:
    """What a message says about the time of day."""

    exact: time | None = None
    approximate: bool = False
    after: time | None = None
    before: time | None = None
    part_of_day: str | None = None
    earliest: bool = False

    @property
    def said_anything(self) -> bool:
        return any((self.exact, self.after, self.before, self.part_of_day, self.earliest))


@dataclass(frozen=True)
class _Clock:
    start: int
    end: int
    hour: int
    minute: int
    meridiem: str | None  # "am" | "pm" | None
    strong: bool  # written so it can only be a time (10:30, 3pm, noon, half past 2)


def read_time(message: str, *, expecting_time: bool = False) -> tuple[TimeAsk | None, list[tuple[int, int]]]:
    """The time asked for in a normalized message (dates already blanked), and where it was said."""
    clocks = [c for c in _clocks(message, expecting_time)]
    part = _part_of_day(message)
    spans = [(c.start, c.end) for c in clocks]
    named = _named_window(message)
    earliest = bool(re.search(r"\b(earliest|soonest|first available|asap|as soon as possible)\b", message))
    if not clocks:
        if named is not None:
            named_part, after, before, first = named
            return TimeAsk(None, False, after, before, named_part or part, first or earliest), spans
        if part is not None or earliest:
            return TimeAsk(part_of_day=part, earliest=earliest), spans
        return None, spans
    times = [_resolve(c, message, part) for c in clocks]
    ranged = _range(message, clocks, times)
    if ranged is not None:
        return TimeAsk(after=ranged[0], before=ranged[1], part_of_day=part), spans
    clock, moment = clocks[0], times[0]
    before_text, after_text = words_before(message, clock.start), words_after(message, clock.end)
    if _AFTER_LEAD.search(before_text) or _AFTER_TAIL.match(after_text):
        return TimeAsk(after=moment, part_of_day=part), spans
    if _BEFORE_LEAD.search(before_text) or _BEFORE_TAIL.match(after_text):
        return TimeAsk(before=moment, part_of_day=part), spans
    approximate = bool(
        _AROUND.search(before_text[-16:]) or re.match(r"^\s*(?:-?ish|or so)\b", after_text)
    ) or after_text.startswith("ish")
    return TimeAsk(exact=moment, approximate=approximate, part_of_day=part), spans


def _clocks(message: str, expecting_time: bool) -> list[_Clock]:
    found = []
    for match in _CLOCK_RE.finditer(message):
        clock = _clock(match)
        if clock is None:
            continue
        if not clock.strong and not _bare_hour_is_time(message, match, expecting_time):
            continue
        found.append(clock)
    return found


def _clock(match: re.Match[str]) -> _Clock | None:
    start, end = match.span()
    if match.group("word"):
        hour = 0 if match.group("word") == "midnight" else 12
        return _Clock(start, end, hour, 0, "pm" if hour else "am", True)
    if match.group("hh"):
        return _Clock(start, end, int(match.group("hh")), 30, None, True)
    if match.group("mil"):
        return _Clock(start, end, int(match.group("mil")), int(match.group("milm")), None, True)
    if match.group("fq"):
        words = match.group("fq").replace(" minutes", "")
        minutes = int(words) if words.isdigit() else _MINUTE_WORD[words.replace("-", " ")]
        hour = int(match.group("fh"))
        if minutes >= 60 or not 1 <= hour <= 12:
            return None
        if match.group("dir") in {"to", "till", "before"}:
            hour, minutes = (hour - 1) or 12, 60 - minutes
        return _Clock(start, end, hour, minutes, None, True)
    hour = int(match.group("h"))
    minute = int(match.group("m") or 0)
    meridiem = match.group("mer")
    if meridiem and not 1 <= hour <= 12:
        return None
    strong = bool(match.group("m") or meridiem)
    if match.group("m") and "." in match.group(0) and not meridiem:
        strong = False  # "10.30" may be a price; only a time where a time is expected
    return _Clock(start, end, hour, minute, meridiem, strong)


def _bare_hour_is_time(message: str, match: re.Match[str], expecting_time: bool) -> bool:
    """A number alone is a time after "at", "around", "after"..., before "ish" or "in the afternoon",
    after a part of the day ("evening 5"), or as the whole answer when we asked for a time."""
    preceding, following = words_before(message, match.start()), words_after(message, match.end())
    if re.search(rf"\b{_LEAD}\s*$", preceding) or re.match(r"^\s?(?:ish|-ish)\b", following):
        if re.search(r"\b(?:and|to|or)\s*$", preceding) and not re.search(r"\d", preceding):
            return False  # "two or three", "up to 4 people": only a time next to another time
        return not re.match(
            r"^\s*(?:days?|weeks?|months?|people|persons|of|minutes?|mins?|hours?|hrs?)\b", following
        )
    if re.search(
        r"\b(?:(?:can|could) (?:we|i|you) do|make it|try|how about|what about)\s*$", preceding
    ) and re.match(r"^\s*(?:instead|then|please|pls|\?|$|o'?clock|ish)", following):
        return True  # "can we do 2 instead", "make it 3 then"
    if re.match(r"^\s?(?:-|to|till|until)\s?\d{1,2}(?::\d\d)?\s?(?:am|pm)\b", following):
        return True  # the start of "2-4pm"
    if re.match(rf"^\s*(?:in the |at |this )?{_PART_WORD}\b", following):
        return True
    if re.search(rf"\b{_PART_WORD}\s*(?:at\s*)?$", preceding):
        return True
    if re.match(
        r"^\s*(?:works?|is (?:good|fine|best|better|ok|great)|would (?:be|work)|please|sounds)\b", following
    ):
        return True
    whole = message.strip(" .!?")
    return expecting_time and whole == match.group(0).strip()


def _resolve(clock: _Clock, message: str, part: str | None) -> time:
    hour, minute = clock.hour, clock.minute
    if clock.meridiem == "pm" and hour < 12:
        return time(hour + 12, minute)
    if clock.meridiem == "am":
        return time(0 if hour == 12 else hour, minute)
    if hour == 0 or hour >= 13:
        return time(hour % 24, minute)
    said_with = _adjacent_part(message, clock) or part
    if said_with in {"afternoon", "evening", "night", "tonight"}:
        return time(hour if hour == 12 else hour + 12, minute)
    if said_with == "morning":
        return time(hour if hour != 12 else 12, minute)
    if 1 <= hour <= 7:
        return time(hour + 12, minute)  # "at 3" at a practice means 3 in the afternoon
    return time(hour, minute)


def _adjacent_part(message: str, clock: _Clock) -> str | None:
    following = re.match(
        rf"^\s*(?:o'clock\s*)?(?:in the |at |this |in )?({_PART_WORD})\b", words_after(message, clock.end)
    )
    if following:
        return following.group(1)
    leading = re.search(rf"\b({_PART_WORD})(?: at| around| about)?\s*$", words_before(message, clock.start))
    return leading.group(1) if leading else None


def _part_of_day(message: str) -> str | None:
    message = re.sub(r"\bgood (morning|afternoon|evening|night)\b", " ", message)
    if re.search(r"\b(tonight|evenings?|in the night|at night)\b", message):
        return "evening"
    if re.search(r"\bafternoons?\b", message):
        return "afternoon"
    if re.search(r"\bmornings?\b|\bin the am\b", message):
        return "morning"
    if re.search(r"\bin the pm\b", message):
        return "afternoon"
    return None


def _named_window(message: str) -> tuple[str | None, time | None, time | None, bool] | None:
    for pattern, part, after, before, earliest in _NAMED_WINDOWS:
        if re.search(pattern, message):
            return part, after, before, earliest
    return None


def _range(message: str, clocks: list[_Clock], times: list[time]) -> tuple[time, time] | None:
    """ "between 2 and 4", "from 10 to 12", "2-4pm": both ends, the second's am/pm shared by the first."""
    if len(clocks) < 2:
        return None
    first, second = clocks[0], clocks[1]
    between = message[first.end : second.start]
    lead = words_before(message, first.start)
    if not (
        re.fullmatch(r"\s*(?:-|to|till|until|and)\s*", between)
        and (re.search(r"\b(between|from)\s*$", lead) or re.fullmatch(r"\s*(?:-|to|till|until)\s*", between))
    ):
        return None
    start, end = times[0], times[1]
    if first.meridiem is None and second.meridiem is not None:
        # "2-4pm", "between 10 and 2": the first end is the same half of the day, or the morning before.
        hour = first.hour % 12 + (12 if second.meridiem == "pm" else 0)
        start = time(hour, first.minute)
        if start > end:
            start = time(first.hour % 12, first.minute)
    if start >= end and end.hour < 12 and end.hour + 12 < 24:
        end = time(end.hour + 12, end.minute)
    return (start, end) if start < end else None


def within(moment: time, ask: TimeAsk) -> bool:
    """Whether a slot's local time is one the ask allows (its part of the day, after, before)."""
    if ask.part_of_day is not None:
        start, end = PARTS_OF_DAY[ask.part_of_day]
        if not start <= moment < end:
            return False
    if ask.after is not None and moment < ask.after:
        return False
    return not (ask.before is not None and moment >= ask.before)
