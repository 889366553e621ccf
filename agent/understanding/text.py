"""Text preparation shared by every reader: one spelling for what patients, phones and speech engines
write differently ("a.m.", "p m", "o'clock", "ten thirty", typographic quotes)."""

from __future__ import annotations

import re

NUMBER_WORDS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
}
ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ORDINAL_UNITS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
# "twenty-first" .. "thirty-first", with a hyphen, a space or nothing between the parts.
_COMPOUND_ORDINAL = re.compile(r"\b(twenty|thirty)[\s-]?(" + "|".join(_ORDINAL_UNITS) + r")\b")
_HOUR_WORDS = "|".join(
    ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
)
_MINUTE_WORDS = (
    r"(?:oh[\s-](?:" + "|".join(_UNITS) + r")"
    r"|(?:twenty|thirty|forty|fifty)(?:[\s-](?:" + "|".join(_UNITS) + r"))?"
    r"|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
# "ten thirty", "two fifteen", "nine oh five": a spoken clock time, only when both parts are there.
_SPOKEN_CLOCK = re.compile(
    rf"\b({_HOUR_WORDS})[\s-]({_MINUTE_WORDS})\b(?![\s-]?(?:minutes?|mins?|days?|weeks?))"
)
# An hour word where only a clock can follow or precede it: "at ten", "ten am", "three o'clock".
_HOUR_BEFORE_MARK = re.compile(rf"\b({_HOUR_WORDS})(?=\s*(?:am|pm|o'?clock|ish)\b)")
_HOUR_AFTER_LEAD = re.compile(
    rf"\b(at|around|about|after|before|by|until|till|til|past|to|from|between|and|or|noon or"
    rf"|half)\s+({_HOUR_WORDS})\b"
    r"(?!\s+(?:of|days?|weeks?|months?|people|minutes?|hours?|mins?|one|ones|options?|times|slots?))"
)


# Texting forms, one spelling each: read as the words they stand for ("2moro", "nxt wk", "appt").
_TEXTING = {
    "2day": "today",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "2mrw": "tomorrow",
    "tmrw": "tomorrow",
    "tmrow": "tomorrow",
    "tmw": "tomorrow",
    "tomoz": "tomorrow",
    "2nite": "tonight",
    "2night": "tonight",
    "tonite": "tonight",
    "wknd": "weekend",
    "wkend": "weekend",
    "nxt": "next",
    "wk": "week",
    "wks": "weeks",
    "mnth": "month",
    "appt": "appointment",
    "appts": "appointments",
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "u": "you",
    "ur": "your",
    "cn": "can",
    "wat": "what",
    "wot": "what",
    "b4": "before",
    "l8r": "later",
    "l8er": "later",
    "thx": "thanks",
    "thnx": "thanks",
    "cud": "could",
    "wud": "would",
    "abt": "about",
    "avail": "available",
    "wanna": "want to",
    "gonna": "going to",
}
_TEXTING_RE = re.compile(r"(?<![\w'])(" + "|".join(sorted(_TEXTING, key=len, reverse=True)) + r")(?![\w'])")
# "r u open", "are u free": "r" is "are" only next to "you"; "sat" and "sun" are days only where a day
# is expected (they are English words).
_ARE = re.compile(r"(?<![\w'])r (?=you\b)")
_SHORT_WEEKEND = re.compile(
    r"\b(?:(?P<lead>on|this|next|coming|a) (?P<d1>sat|sun)\b"
    r"|(?P<d2>sat|sun)(?= (?:at |@ ?)?\d| (?:morning|afternoon|evening|am|pm)\b))"
)
# Thumbs and ticks say yes or no where a yes or no is asked.
_EMOJI_ANSWERS = {
    "\U0001f44d": " yes ",
    "\U0001f44c": " yes ",
    "\u2705": " yes ",
    "\U0001f44e": " no ",
    "\u274c": " no ",
}


def _weekend_day(match: re.Match[str]) -> str:
    day = {"sat": "saturday", "sun": "sunday"}[match["d1"] or match["d2"]]
    return f"{match['lead']} {day}" if match["lead"] else day


def normalize(text: str) -> str:
    """Lower case, one kind of apostrophe and space, texting forms spelt out, and one spelling of
    am/pm and of numbers said as words where they are clock times ("ten thirty" -> "10:30")."""
    text = text.lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    for emoji, word in _EMOJI_ANSWERS.items():
        text = text.replace(emoji, word)
    text = re.sub(r"\s+", " ", text).strip()
    text = _TEXTING_RE.sub(lambda m: _TEXTING[m[1]], text)
    text = _ARE.sub("are ", text)
    text = _SHORT_WEEKEND.sub(_weekend_day, text)
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)  # a.m. / p.m. / a. m.
    text = re.sub(r"(?<=\d)\s?([ap])\s?m\b", r" \1m", text)  # 10a m, 10 p m, 2pm -> 2 pm
    text = re.sub(r"\b([ap]) m\b", r"\1m", text)  # "two p m" (speech engines)
    text = re.sub(r"\bo'?\s?clock\b", "o'clock", text)
    text = _COMPOUND_ORDINAL.sub(lambda m: f"{NUMBER_WORDS[m[1]] + ORDINAL_WORDS[m[2]]}th", text)
    text = _SPOKEN_CLOCK.sub(lambda m: f"{NUMBER_WORDS[m[1]]}:{_minute(m[2]):02d}", text)
    text = _HOUR_BEFORE_MARK.sub(lambda m: str(NUMBER_WORDS[m[1]]), text)
    text = _HOUR_AFTER_LEAD.sub(lambda m: f"{m[1]} {NUMBER_WORDS[m[2]]}", text)
    return re.sub(r"(\d)\s?o'clock", r"\1:00", text)


def _minute(words: str) -> int:
    return sum(NUMBER_WORDS[w] for w in re.split(r"[\s-]", words))


# A reader looks at the words next to a match, never at the whole message before or after it: a
# bounded window keeps every reader linear in the length of the message (an unbounded look-back per
# match made a long message quadratic).
CONTEXT_CHARS = 48


def words_before(text: str, start: int, width: int = CONTEXT_CHARS) -> str:
    return text[max(0, start - width) : start]


def words_after(text: str, end: int, width: int = CONTEXT_CHARS) -> str:
    return text[end : end + width]


def clause_around(text: str, start: int, end: int, breaks: re.Pattern[str]) -> tuple[str, str]:
    """The words before and after text[start:end] up to the nearest clause break on each side,
    looking no further than a bounded window."""
    left_edge = max(0, start - 4 * CONTEXT_CHARS)
    breaks_before = [m.end() for m in breaks.finditer(text, left_edge, start)]
    left = breaks_before[-1] if breaks_before else left_edge
    following = breaks.search(text, end, end + 4 * CONTEXT_CHARS)
    right = following.start() if following else min(len(text), end + 4 * CONTEXT_CHARS)
    return text[left:start], text[end:right]


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the given character spans replaced by spaces, so later readers skip them but
    positions stay the same."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def ordinal_suffix(day: int) -> str:
    return "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
