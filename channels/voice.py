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

MAX_SPOKEN_OPTIONS = 3
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

_SHORT_DATE = re.compile(
    r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{1,2})\b"
)
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2}) ?(AM|PM)\b")
_DAY_RANGE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b")
_LONE_DAY = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun):")
_REFERENCE = re.compile(r"\b(reference(?: is)?) ([A-Z0-9]{6})\b")
_PHONE = re.compile(r"\+?\d[\d\- ]{8,}\d")
_SPAN = re.compile(r"(a\.m\.|p\.m\.|noon) ?- ?")
# Pictographs and other symbols a speech engine reads out by name, or badly.
_SYMBOLS = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f]")


@dataclass(frozen=True)
class Spoken:
    """A turn as the caller hears it: the speech, and the options in keypad order."""

    text: str
    options: tuple[str, ...] = ()


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
    text = _PHONE.sub(lambda m: ", ".join(d for d in m[0] if d.isdigit()), text)
    text = text.replace("\n", ". ").replace("e-mail", "email")
    return re.sub(r"\s+", " ", re.sub(r"\.(\s*\.)+", ".", text)).strip()


def speakable(texts: list[str], options: list[str]) -> Spoken:
    """A turn's replies as speech, with up to three options read out: "say it, or press 1 for ..."."""
    speech = " ".join(for_the_ear(t) for t in texts if t.strip())
    shown = tuple(for_the_ear(o) for o in options[:MAX_SPOKEN_OPTIONS])
    if shown:
        speech += " " + options_prompt(shown)
    return Spoken(speech, shown)


def options_prompt(options: tuple[str, ...]) -> str:
    return " ".join(f"For {option}, press {n}." for n, option in enumerate(options, start=1))


@dataclass(frozen=True)
class GatherSpec:
    """How the next answer is collected."""

    action: str
    language: str
    timeout_seconds: int
    hints: tuple[str, ...] = ()


def ask(speech: str, gather: GatherSpec) -> str:
    """Say something and wait for the caller's answer, spoken or keyed."""
    response = VoiceResponse()
    listen = response.gather(
        input="speech dtmf",
        action=gather.action,
        method="POST",
        action_on_empty_result=True,
        speech_timeout="auto",
        timeout=gather.timeout_seconds,
        num_digits=1,
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
