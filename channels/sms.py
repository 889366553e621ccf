"""The SMS channel's rules of the road: carrier keywords, reminder replies, and how a turn's replies
become one text (numbered options, at most two segments).

Pure functions: the backend stores, routes and sends; this module only reads and writes text.
"""

from __future__ import annotations

import re
from typing import Literal

from channels.segments import count_segments

MAX_SEGMENTS = 2
LEAST_OPTIONS_SHOWN = 2
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
CONFIRM_WORDS = frozenset({"C", "CONFIRM", "CONFIRMED", "YES", "Y"})
RESCHEDULE_WORDS = frozenset({"R", "RESCHEDULE"})

Keyword = Literal["opt_out", "opt_in", "help", "yes"]
ReminderReply = Literal["confirm", "reschedule"]

# A lone word with any spaces and punctuation around it ("Stop.", "  stop!! ").
_LONE_WORD = re.compile(r"^[\W_]*([A-Za-z]+)[\W_]*$")
# Typography phones add that would turn a whole text into UCS-2 (70 characters a segment).
_PLAIN = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark (the apostrophe phones type)
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2026": "...",
        "\u00a0": " ",
    }
)


def lone_word(text: str) -> str | None:
    match = _LONE_WORD.match(text)
    return match.group(1).upper() if match else None


def keyword(text: str) -> Keyword | None:
    """The carrier keyword a text is, if it is one word; "cancel my appointment" is not a keyword."""
    word = lone_word(text)
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    if word in HELP_WORDS:
        return "help"
    if word == "YES":
        return "yes"  # opts an unsubscribed number back in; from anyone else it is an ordinary reply
    return None


def reminder_reply(text: str) -> ReminderReply | None:
    word = lone_word(text)
    if word in CONFIRM_WORDS:
        return "confirm"
    if word in RESCHEDULE_WORDS:
        return "reschedule"
    return None


def compose(texts: list[str], options: list[str], max_segments: int = MAX_SEGMENTS) -> str:
    """One text for a turn: the replies, then the options numbered ("Reply 1, 2 or 3").

    Options that would take the text past `max_segments` are left off (their numbers still work,
    the patient just does not see them), but never below the first two: a question with nothing to
    answer it by is no use. A turn that said several things keeps its first (what was done) and its
    last (what is asked now) before the ones between; a text still too long is cut at a word with
    "...", its first part before what it asks.
    """
    kept = [t.strip() for t in texts if t.strip()]
    least = min(LEAST_OPTIONS_SHOWN, len(options))
    while True:
        text, shown = _fitted(_plain(" ".join(kept)), options, max_segments)
        fits = count_segments(text).segments <= max_segments and shown >= least
        if fits or len(kept) <= 2:
            break
        kept.pop(-2)
    if fits:
        return text
    if least and kept and (shortened := _shortened(kept, _numbered(options[:least]), max_segments)):
        return shortened
    return _cut(text, max_segments)


def _fitted(body: str, options: list[str], max_segments: int) -> tuple[str, int]:
    """`body` and as many of the options as fit; how many."""
    shown = list(options)
    while True:
        text = body + _numbered(shown)
        if count_segments(text).segments <= max_segments or not shown:
            return text, len(shown)
        shown.pop()


def _shortened(kept: list[str], numbered: str, max_segments: int) -> str | None:
    """The texts cut at a word so that `numbered` fits after them: the first (what was done) when
    there are two, so the question stays whole; None when even one word does not fit."""
    head, tail = (kept[0], " " + kept[-1]) if len(kept) > 1 else (kept[0], "")
    words = _plain(head).split(" ")
    while len(words) > 1:
        words.pop()
        text = " ".join(words) + "..." + _plain(tail) + numbered
        if count_segments(text).segments <= max_segments:
            return text
    return None


def _numbered(options: list[str]) -> str:
    if not options:
        return ""
    lines = "".join(f"\n{n}) {_plain(option)}" for n, option in enumerate(options, start=1))
    numbers = [str(n) for n in range(1, len(options) + 1)]
    ask = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " or " + numbers[-1]
    return f"{lines}\nReply {ask}."


def _plain(text: str) -> str:
    return text.translate(_PLAIN)


def _cut(text: str, max_segments: int) -> str:
    words = text.split(" ")
    while len(words) > 1 and count_segments(" ".join(words) + "...").segments > max_segments:
        words.pop()
    return " ".join(words) + "..."
