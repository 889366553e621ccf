"""Emergency triage: runs on every patient message before anything else.

Recall first: a warning sign of any emergency category (`signs`) flags the message unless the words
around it say it is not happening now (`context`: negation, history, other contexts, figures of
speech). A false alarm costs one safety message; a miss can cost a life. Every decision names its
category, and a sign that was set aside names why, so both can be audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policy.triage.context import discounted
from policy.triage.signs import SIGNS

EMERGENCY_NUMBERS = {
    "US": "911",
    "CA": "911",
    "MX": "911",
    "GB": "999",
    "IE": "112",
    "AU": "000",
    "NZ": "111",
}
DEFAULT_EMERGENCY_NUMBER = "112"
# Crisis lines for self-harm, where there is one national number.
CRISIS_LINES = {
    "US": "call or text 988",
    "CA": "call or text 988",
    "GB": "call 116 123 (Samaritans)",
    "AU": "call 13 11 14 (Lifeline)",
}
_POISON_LINES = {"US": "Poison Control at 1-800-222-1222"}


@dataclass(frozen=True)
class Triage:
    emergency: bool
    category: str | None = None
    # Signs seen but set aside: (category, reason), e.g. ("stroke", "history").
    dismissed: tuple[tuple[str, str], ...] = ()
    urgent: bool = False
    # First aid from published guidance for an urgent dental problem, where there is one.
    advice: str | None = None

    @property
    def band(self) -> str:
        """emergency | possible | urgent | routine."""
        if self.emergency:
            return "emergency"
        return "urgent" if self.urgent else "routine"


# Interim urgent dental signs (category, pattern, first aid); the layered detectors replace them.
_URGENT_DENTAL = (
    (
        "knocked_out_tooth",
        re.compile(r"\btooth (?:got |was |has been )?knocked out\b|\bknocked (?:\w+ ){0,2}tooth out\b"),
        "If it is an adult tooth, hold it by the crown, not the root, and keep it in milk (or put it "
        "back in its socket if you can); it has the best chance if a dentist sees it within the hour.",
    ),
    (
        "bleeding_after_extraction",
        re.compile(r"\bbleeding (?:\w+ ){0,4}(?:won'?t|will not|doesn'?t|does not) stop\b.*\bextract"),
        "Bite firmly on a clean, rolled-up gauze or cloth over the socket for 20 minutes without "
        "checking it.",
    ),
)


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()


def assess(text: str) -> Triage:
    message = normalize(text)
    dismissed: list[tuple[str, str]] = []
    for sign in SIGNS:
        first, *rest = sign.patterns
        if not all(pattern.search(message) for pattern in rest):
            continue
        for match in first.finditer(message):
            reason = discounted(message, match.start(), match.end())
            if reason is None:
                return Triage(True, sign.category, tuple(dismissed))
            if (sign.category, reason) not in dismissed:
                dismissed.append((sign.category, reason))
    for category, pattern, advice in _URGENT_DENTAL:
        match = pattern.search(message)
        if match and discounted(message, match.start(), match.end()) is None:
            return Triage(False, category, tuple(dismissed), urgent=True, advice=advice)
    return Triage(False, None, tuple(dismissed))


def safety_message(category: str, country: str) -> str:
    """The fixed reply for an emergency: where to get help now, and that this chat is not it."""
    number = EMERGENCY_NUMBERS.get(country, DEFAULT_EMERGENCY_NUMBER)
    message = (
        f"This sounds like it could be a medical emergency. Please call {number} (or your local "
        "emergency number) right now, or go to the nearest emergency department. "
        "This chat cannot help in an emergency."
    )
    if category == "self_harm":
        line = CRISIS_LINES.get(country)
        if line:
            message += f" You can also reach a crisis line right now, any time: {line}."
        message += " You are not alone."
    if category == "poisoning" and country in _POISON_LINES:
        message += f" You can also call {_POISON_LINES[country]}."
    return message
