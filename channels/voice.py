"""The voice channel: what the receptionist says, written for the ear, and the TwiML that says it.

Replies are written for screens ("Tue, Dec 1 at 10:30 AM", "reference K7M2QX", chips). `speakable`
turns them into speech ("Tuesday, December 1st at ten thirty a.m.", "K, 7, M, 2, Q, X") and reads at
most a few options out with their keypad digits. The TwiML is built with the official `twilio`
library; every answer that expects more from the caller ends in a `<Gather>` whose action is the
next numbered step, so a repeated request is recognised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

MAX_SPOKEN_OPTIONS = 3  # times read out at once; "more times" reads the next ones
MAX_KEYPAD_OPTIONS = 6
_DAYS = {
    "Mon": "Monday",
    "Tue": "Tuesday",
    "Wed": "Wednesday",
    "Thu": "Thursday",
    "Fri": "Friday",
    "Sat": "Saturday",
    "Sun": "Sunday",
}
_MONTHS = {
    "Jan": "January",
    "Feb": "February",
    "Mar": "March",
    "Apr": "April",
    "May": "May",
    "Jun": "June",
    "Jul": "July",
    "Aug": "August",
    "Sep": "September",
    "Oct": "October",
    "Nov": "November",
    "Dec": "December",
}
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven")
_ONES += ("twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty"}
_NUMBERS = {word: n for n, word in enumerate(_ONES) if 1 <= n <= 12} | {"won": 1, "to": 2, "too": 2, "for": 4}

_SHORT_DATE = re.compile(
    r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{1,2})\b"
)
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2}) ?(AM|PM)\b")
_DAY_RANGE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
_LONE_DAY = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun):")
_REFERENCE = re.compile(r"\b(reference(?: is)?|booking|like) ([A-Z0-9]{6})\b")
_PHONE = re.compile(r"\+?\d[\d\- ]{8,}\d")
_DATED = re.compile(r"((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \w{3} \d{1,2}) at (\d{1,2}:\d{2} ?[AP]M)")
# Words for a screen, and how they are said on the phone.
_SCREEN_WORDS = (
    (re.compile(r"\btap (one|a|an|the)\b"), r"choose \1"),
    (re.compile(r"\bTap (one|a|an|the)\b"), r"Choose \1"),
    (re.compile(r"\breply (yes|no|\d)\b"), r"say \1"),
    (re.compile(r"\bReply (yes|no|\d)\b"), r"Say \1"),
    (re.compile(r"\s*\((?:[A-Z][A-Za-z_]+/)+[A-Za-z_]+\)"), ""),  # "(America/New_York)": said as a clock
)
_SPAN = re.compile(r"(a\.m\.|p\.m\.|noon) ?- ?")
# Pictographs and other symbols a speech engine reads out by name, or badly.
_SYMBOLS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")


@dataclass(frozen=True)
class Spoken:
    """A turn as the caller hears it: the speech, and the options in keypad order."""

    text: str
    options: tuple[str, ...] = ()
    # The indexes, among the options offered, of those read out (in keypad order).
    read: tuple[int, ...] = ()


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def clock_words(hour: int, minute: int, meridiem: str) -> str:
    """10:30 AM -> "ten thirty a.m.", 9:00 AM -> "nine a.m.", 12:00 PM -> "noon", 1:05 PM -> "one oh five
    p.m."."""
    if hour == 12 and minute == 0 and meridiem == "PM":
        return "noon"
    spoken = number_words(hour)
    if minute:
        spoken += f" oh {number_words(minute)}" if minute < 10 else f" {number_words(minute)}"
    return f"{spoken} {'a.m.' if meridiem == 'AM' else 'p.m.'}"


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def for_the_ear(text: str) -> str:
    text = _SYMBOLS.sub("", text)
    text = _SHORT_DATE.sub(lambda m: f"{_DAYS[m[1]]}, {_MONTHS[m[2]]} {_ordinal(int(m[3]))}", text)
    text = _CLOCK.sub(lambda m: clock_words(int(m[1]), int(m[2]), m[3]), text)
    text = _SPAN.sub(lambda m: f"{m[1]} to ", text)
    text = _DAY_RANGE.sub(lambda m: f"{_DAYS[m[1]]} to {_DAYS[m[2]]}", text)
    text = _LONE_DAY.sub(lambda m: f"{_DAYS[m[1]]}:", text)
    text = _REFERENCE.sub(lambda m: f"{m[1]} {', '.join(m[2])}", text)
    text = _PHONE.sub(lambda m: phone_words(m[0]), text)
    for pattern, said in _SCREEN_WORDS:
        text = pattern.sub(said, text)
    text = text.replace("\n", ". ").replace("e-mail", "email")
    return re.sub(r"\s+", " ", re.sub(r"\.(\s*\.)+", ".", text)).strip()


def phone_words(number: str) -> str:
    """A phone number in the groups people say it in: "+16175550199" -> "6 1 7, 5 5 5, 0 1 9 9"."""
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        groups = [digits[:3], digits[3:6], digits[6:]]
    else:
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return ", ".join(" ".join(group) for group in groups)


_OPTION = re.compile(
    r"^\W*(?:(?:press|option|number|choice|no\.?|#)\s*)?(?P<n>\d{1,2}|[a-z]+)"
    r"\W*(?:please|thanks?|thank you)?\W*$"
)
_REPEAT = re.compile(
    r"^\W*(?:\*|(?:can you |could you |please )?(?:repeat|say (?:that|it|them) again|again|come again"
    r"|pardon|what was that|sorry,? what|i didn'?t (?:catch|hear) (?:that|it))"
    r"(?: that| it| them| please| the options)*)\W*$",
    re.I,
)


def option_number(heard: str) -> int | None:
    """The option a caller chose by number: "2", "2.", "number two", "press two", "option 2", "one"."""
    match = _OPTION.match(heard.strip().lower())
    if match is None:
        return None
    said = match["n"]
    if said.isdigit():
        return int(said)
    return _NUMBERS.get(said)


def wants_repeat(heard: str) -> bool:
    """ "repeat", "say that again", the star key: read the last question and its options again."""
    return bool(_REPEAT.match(heard.strip()))


def speakable(
    texts: list[str], options: list[str], timed: list[bool] | None = None, first: list[int] | None = None
) -> Spoken:
    """A turn's replies as speech, then the options read out, each with its number: at most
    MAX_SPOKEN_OPTIONS times (a date said once for the times on it), and every option that is not a
    time ("More times"). The times read are the first in `first` (indices, best first: the nearest
    to the time asked), else the earliest; they are read in time order. Only these can be chosen by
    number; `Spoken.read` says which they were."""
    speech = " ".join(for_the_ear(t) for t in texts if t.strip())
    read = _to_read(options, timed or [False] * len(options), first)
    shown = tuple(options[i] for i in read)
    if shown:
        speech += " " + options_prompt(shown, said_before=speech)
    return Spoken(speech, shown, read)


def _to_read(options: list[str], timed: list[bool], first: list[int] | None) -> tuple[int, ...]:
    times = [i for i in (first or range(len(options))) if timed[i]][:MAX_SPOKEN_OPTIONS]
    others = [i for i, is_time in enumerate(timed) if not is_time]
    return tuple(sorted(times + others))[:MAX_KEYPAD_OPTIONS]


def options_prompt(options: tuple[str, ...], said_before: str = "") -> str:
    """ "On Tuesday, December 1st: option one, ten a.m.; option two, eleven a.m. Option three, more
    times. Say the option, or press its number. To hear them again, say repeat or press star."
    A day `said_before` names (all the times on it) is not said again."""
    sentences: list[list[str]] = []  # the options said together: one day's times, or one option
    days = {m[1] for m in map(_DATED.fullmatch, options) if m is not None}
    # A day goes unsaid only when it is the one date the speech before named: a weekday alone, or
    # another date (a booking being moved, a day with nothing free), says nothing of these times.
    named = len(days) == 1 and _dates_named(said_before) == {_date_said(next(iter(days)))}
    day = next(iter(days)) if named else None
    for number, label in enumerate(options, start=1):
        dated = _DATED.fullmatch(label)
        if dated is not None and dated[1] == day and sentences:
            sentences[-1].append(f"option {number_words(number)}, {for_the_ear(dated[2])}")
        elif dated is not None and dated[1] == day:
            sentences.append([f"Option {number_words(number)}, {for_the_ear(dated[2])}"])
        elif dated is not None:
            day = dated[1]
            sentences.append(
                [f"On {for_the_ear(day)}: option {number_words(number)}, {for_the_ear(dated[2])}"]
            )
        else:
            day = None
            sentences.append([f"Option {number_words(number)}, {for_the_ear(label).lower()}"])
    said = " ".join("; ".join(parts).removesuffix(".") + "." for parts in sentences)
    return f"{said} {CHOOSING}"


_SAID_DATE = re.compile(
    r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (?:January|February|March|April|May"
    r"|June|July|August|September|October|November|December) \d{1,2}(?:st|nd|rd|th)?\b"
)


def _date_said(text: str) -> str:
    """A date as the ear hears it, without its ordinal: "Thu, Dec 3" -> "Thursday, December 3"."""
    return re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", for_the_ear(text))


def _dates_named(speech: str) -> set[str]:
    return {_date_said(m[0]) for m in _SAID_DATE.finditer(speech)}


CHOOSING = "Say the option, or press its number. To hear them again, say repeat, or press star."


@dataclass(frozen=True)
class GatherSpec:
    """How the next answer is collected."""

    action: str
    language: str
    timeout_seconds: int
    hints: tuple[str, ...] = ()
    # An answer spelled out (a reference, a phone number) may be keyed in whole, ended by #.
    keyed: bool = False


def ask(speech: str, gather: GatherSpec) -> str:
    """Say something and wait for the caller's answer, spoken or keyed: one key for a choice, or
    (`gather.keyed`) a whole answer keyed in and ended with the hash key."""
    response = VoiceResponse()
    listen = response.gather(
        input="dtmf speech" if gather.keyed else "speech dtmf",
        action=gather.action,
        method="POST",
        action_on_empty_result=True,
        speech_timeout="auto",
        timeout=gather.timeout_seconds * 2 if gather.keyed else gather.timeout_seconds,
        num_digits=None if gather.keyed else 1,
        finish_on_key="#" if gather.keyed else None,
        language=gather.language,
        hints=", ".join(gather.hints) or None,
    )
    listen.say(speech, language=gather.language)
    return str(response)


def goodbye(speech: str, language: str) -> str:
    response = VoiceResponse()
    response.say(speech, language=language)
    response.hangup()
    return str(response)


def transfer(speech: str, number: str, language: str) -> str:
    response = VoiceResponse()
    response.say(speech, language=language)
    response.dial(number)
    return str(response)
