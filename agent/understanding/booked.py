"""Which words of a message describe a booking the patient already has ("my cleaning on Thursday",
"tomorrow's appointment", "I booked a filling for the 9th") and which say where it should go ("to
Friday", "forty-five minutes later"): the first pick the booking, the second are the target."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

_NOUNS = r"appointment|appt|booking|reservation|visit|session"
_DAYS = (
    r"today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|weds?|thu|"
    r"thurs?|fri|sat|sun|this \w+|next \w+"
)
# Where a description ends: before a word that starts the target or a new clause, or a break.
_UNTIL = (
    r"(?=\s+(?:to|till|until|into|instead|with|because|as|but|and|so|please|pls|can|could|would|is|was"
    r"|an?)\b|\s*[-,.;!?]|$)"
)


@lru_cache(maxsize=64)
def _pattern(service_words: tuple[str, ...]) -> re.Pattern[str]:
    named = "|".join(re.escape(w) for w in sorted(service_words, key=len, reverse=True) if w)
    things = f"{_NOUNS}|{named}" if named else _NOUNS
    return re.compile(
        rf"\b(?:my|the|our|this|that)\s+(?:(?:next|upcoming|current|existing|original|usual|booked)\s+)?"
        rf"(?:[a-z'-]+\s+){{0,2}}?(?:{things})s?\b(?:\s+(?:on|for|at|this|next|tomorrow|today)\b[^-,.;!?]{{0,30}}?{_UNTIL})?"
        rf"|\b(?:{_DAYS})'?s\s+(?:{things})\b"
        rf"|\b(?:i|we)\s+(?:booked|have|had|made|got)\s+(?:a|an|my|the)\s+(?:{things})\s+(?:on|for|at)\b"
        rf"[^-,.;!?]{{0,30}}?{_UNTIL}"
    )


def descriptions(message: str, service_words: Sequence[str]) -> list[tuple[int, int]]:
    """The spans of a normalized message that describe an existing booking."""
    return [m.span() for m in _pattern(tuple(w.lower() for w in service_words)).finditer(message)]
