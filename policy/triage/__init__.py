"""Emergency triage: runs on every patient message before anything else.

Recall first, in layers. Three independent detectors read the message: the sign patterns of public
first-aid guidance (`signs`), combinations of lay symptom words (`combinations`), and a classifier
over character n-grams trained from the labelled corpus (`classifier`); the urgent dental level has
its own rules (`dental`). Every detector reads a sign in its context (`context`): negated, past
history, another context or a figure of speech never escalates.

Bands:
- "emergency": a sign pattern, a confident combination, or two detectors agreeing; also dental
  swelling that spreads, and bleeding after a procedure with signs of shock;
- "possible": one detector alone, unsure: the emergency line is shown and the patient asked;
- "urgent": the urgent dental level, with first-aid advice where guidance gives one;
- "routine".
`assess` is pure: the same text gives the same assessment, and it never does I/O (the classifier is
trained once per process, on first use).
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.triage import classifier, signs
from policy.triage.combinations import SYMPTOM, Finding, combine
from policy.triage.dental import ADVICE, DentalFinding, dental
from policy.triage.normalizing import normalize
from policy.triage.notes import Notes

__all__ = [
    "Readings",
    "Triage",
    "assess",
    "band",
    "emergency_number",
    "normalize",
    "read",
    "safety_message",
    "spoken_number",
    "spoken_safety_message",
    "warm_up",
]

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
# The same lines said on a phone call: short, with the digits said one by one.
_SPOKEN_CRISIS_LINES = {
    "US": "call or text 9 8 8",
    "CA": "call or text 9 8 8",
    "GB": "call the Samaritans on 1 1 6, 1 2 3",
    "AU": "call Lifeline on 13 11 14",
}
# An emergency reading a dental finding explains better: bleeding that will not stop after an
# extraction without signs of shock, a swelling from a tooth that does not spread.
_DENTAL_LOOKALIKES = frozenset({"bleeding", "anaphylaxis", "dental_infection"})


@dataclass(frozen=True)
class Triage:
    band: str = "routine"  # "emergency", "possible", "urgent" or "routine"
    category: str | None = None
    # The detectors that found it: "signs", "combinations", "classifier", "dental".
    detectors: tuple[str, ...] = ()
    # Signs seen but set aside: (category, reason), e.g. ("stroke", "history").
    dismissed: tuple[tuple[str, str], ...] = ()
    # First-aid advice from published guidance, for an urgent dental category that has one.
    advice: str | None = None

    @property
    def emergency(self) -> bool:
        return self.band == "emergency"


@dataclass(frozen=True)
class Readings:
    """What each detector found in one message, before the bands are decided."""

    signs: str | None
    combinations: Finding | None
    classifier: tuple[str, float] | None
    dental: DentalFinding | None
    dismissed: tuple[tuple[str, str], ...]


def read(text: str, *, with_classifier: bool = True) -> Readings:
    notes = Notes(normalize(text))
    found_signs = signs.find(notes)
    combination = combine(notes)
    dental_finding = dental(notes)
    opinion = classifier.opinion(notes.unread()) if with_classifier and notes.holds(SYMPTOM) else None
    return Readings(found_signs, combination, opinion, dental_finding, tuple(notes.dismissed))


def band(readings: Readings) -> Triage:
    votes = [
        (name, category)
        for name, category in (
            ("signs", readings.signs),
            ("combinations", readings.combinations.category if readings.combinations else None),
            ("classifier", readings.classifier[0] if readings.classifier else None),
        )
        if category is not None
    ]
    detectors = tuple(name for name, _ in votes)
    dismissed = readings.dismissed
    found_dental = readings.dental
    if found_dental is not None and found_dental.emergency:
        return Triage("emergency", found_dental.category, (*detectors, "dental"), dismissed)
    if found_dental is not None and {category for _, category in votes} <= _DENTAL_LOOKALIKES:
        category = found_dental.category
        if category == "dental_infection":
            return Triage("emergency", category, (*detectors, "dental"), dismissed)
        return Triage("urgent", category, ("dental",), dismissed, ADVICE.get(category))
    if not votes:
        return Triage("routine", None, (), dismissed)
    confident = readings.signs is not None or (readings.combinations and readings.combinations.confident)
    category = votes[0][1]
    if confident or len(votes) >= 2:
        return Triage("emergency", category, detectors, dismissed)
    return Triage("possible", category, detectors, dismissed)


def warm_up() -> None:
    """Train the classifier now (about a second, once per process), so the first message that
    needs it does not wait for it."""
    classifier.model()


def assess(text: str) -> Triage:
    """The band of a patient's message, its category, the detectors that found it and why signs
    were set aside."""
    return band(read(text))


def emergency_number(country: str) -> str:
    return EMERGENCY_NUMBERS.get(country, DEFAULT_EMERGENCY_NUMBER)


def spoken_number(number: str) -> str:
    """A short number as it is said: "911" -> "9 1 1" (a speech engine says "nine hundred eleven")."""
    return " ".join(number)


def spoken_safety_message(category: str, country: str) -> str:
    """The emergency message on a phone call: short sentences, no screen words. The emergency number
    is said once, by the offer to connect the caller to it, which the turn adds (agent/safety.py)."""
    return "This sounds like it could be a medical emergency. Please get help right now." + _spoken_lines(
        category, country
    )


def spoken_possible_message(category: str, country: str) -> str:
    """A possible emergency on a phone call, before the caller is asked whether it is happening:
    how to get help now (the emergency number, and the crisis or poison line where one fits), said
    as on the web and by text, for the ear."""
    said = spoken_number(emergency_number(country))
    return (
        f"That could be a medical emergency. If it is, hang up and call {said} now, or go to the "
        "nearest emergency department." + _spoken_lines(category, country)
    )


def _spoken_lines(category: str, country: str) -> str:
    """The crisis line or poison line that fits the category, said for the ear."""
    lines = ""
    if category == "self_harm":
        line = _SPOKEN_CRISIS_LINES.get(country)
        if line:
            lines += f" You can also reach a crisis line, any time: {line}."
        lines += " You are not alone."
    if category == "poisoning" and country in _POISON_LINES:  # the phone channel says its digits
        lines += f" You can also call {_POISON_LINES[country]}."
    return lines


def safety_message(category: str, country: str) -> str:
    """The fixed reply for an emergency: where to get help now, and that this chat is not it. (What
    the clinic was told, and whether anyone is watching, the turn adds: agent/safety.py.)"""
    number = emergency_number(country)
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
