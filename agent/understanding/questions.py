"""Questions a patient asks on the way: how long a service takes, whether the practice does a thing,
what it costs, and anything else asked (parking, insurance, the address) that the clinic's own
knowledge may answer."""

from __future__ import annotations

import re

_DURATION = re.compile(
    r"\bhow long\b(?! (?:ago|have i|until|till|before|is the wait))|\bhow many (?:minutes|hours)\b"
)
_PRICE = re.compile(r"\bhow much\b|\b(?:price|prices|pricing|cost|costs|fee|fees|charge|charges|afford)\b")
_OFFERED = re.compile(
    r"^(?:(?:hi|hey|hello|ok|so|and|also)\W+)*(?:do|does|can|could|would|will) (?:you|ya|the \w+)\s+"
    r"(?:guys\s+|also\s+|still\s+|even\s+|ever\s+)?(?:do|offer|provide|perform|fit|make|treat|fix|"
    r"handle|deal with|take care of|carry out|sell)\b"
)
_ASKS = re.compile(
    r"\?\s*$|^(?:(?:hi|hey|hello|ok|so|and|also|quick question)\W+)*(?:what|what'?s|where|where'?s|how|"
    r"is|are|do|does|can|could|will|would|which|who|why|when|whats|wheres|hows|any)\b"
)
# "do you do X", "I need a X", "can I get an X": the thing asked for, when it is not in the catalogue.
_ASKED_FOR = re.compile(
    r"\b(?:do|does|can|could) (?:you|the \w+) (?:guys )?(?:also )?(?:do|offer|provide|perform|fix|treat)"
    r"(?: any)? (?:an? |the |some )?(?P<x>[a-z][a-z'-]*(?: [a-z][a-z'-]*){0,2}?)\s*(?:\?|$|\.|,| here\b"
    r"| there\b| at all\b| for\b| please\b| too\b| as well\b)"
    r"|\b(?:i need|i want|i'?d like|can i (?:get|have|book)|looking for) (?:an? |some )"
    r"(?P<y>[a-z][a-z'-]*(?: [a-z][a-z'-]*){0,2}?)\s*(?:\?|$|\.|,| please\b| done\b)"
)
# Things asked about that are questions for the clinic's knowledge, not services it may offer.
_NOT_SERVICES = frozenset(
    """parking insurance payment payments plan plans finance financing card cards cash credit wifi
    discount discounts refund refunds weekend weekends evening evenings late early appointment
    appointments booking bookings walk walk-ins emergency emergencies kids children child family
    same-day online video phone call calls reminder reminders text texts email time times slot slots
    anything something nothing everything availability space room visit""".split()
)


def topic(message: str) -> str | None:
    """What a normalized message asks, if it asks: "duration", "price", "offered" (whether the
    practice does a thing) or "question" (anything else asked); None when it asks nothing."""
    if _DURATION.search(message):
        return "duration"
    if _PRICE.search(message) and _ASKS.search(message):
        return "price"
    if _OFFERED.search(message):
        return "offered"
    if _ASKS.search(message):
        return "question"
    return None


def asked_for(message: str) -> str | None:
    """The thing "do you do X" / "I need an X" asks for, when it reads as a service (not a question
    about parking, payment or times)."""
    match = _ASKED_FOR.search(message)
    if match is None:
        return None
    thing = (match["x"] or match["y"] or "").strip()
    words = set(re.findall(r"[a-z'-]+", thing))
    if not words or words & _NOT_SERVICES:
        return None
    return thing
