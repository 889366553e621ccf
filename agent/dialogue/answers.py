"""Answers to questions off the path, from what the receptionist holds as fact: the hours (a closed
day said as closed), how long a service takes, whether the practice does a thing (by name, with what
it can offer instead), and the clinic's own FAQ. Anything else is said to be unknown, with a person
offered: never a price, an insurance plan or a policy the clinic has not written down."""

from __future__ import annotations

import re

from agent import faq
from agent.dialogue.turn import MENU, TALK_TO_A_PERSON, Turn
from agent.ports import ServiceInfo
from agent.replies import QuickReply, Reply
from agent.understanding import Act, lexicon

# Words of a catalogue service where a practitioner looks at what a patient needs.
_ASSESS = re.compile(
    r"\b(?:check-?\s?up|exam\w*|consult\w*|assessment|gp appointment|doctor'?s appointment)\b"
)
# A clinic's hours are facts; the FAQ holds the rest, with at least this score (rapidfuzz, 0-100).
FAQ_FIRST_SCORE = 85.0


async def answer(turn: Turn, act: Act, alone: bool) -> list[Reply]:
    """The reply to a question act; `alone` when nothing else in the message asks for more (its
    chips are then worth offering)."""
    if act.kind == "not_offered":
        return [not_offered(turn, act, alone)]
    match act.topic:
        case "hours":
            return [hours(turn, act, alone)]
        case "duration":
            return [duration(turn, act)]
        case "offered":
            return [offered(turn, act, alone)]
    return [from_faq(turn, act, alone)]


def hours(turn: Turn, act: Act, alone: bool) -> Reply:
    practice, calendar = turn.practice, turn.calendar
    days = act.reading.days
    lines = "\n".join(practice.opening_hours)
    if days is not None and days.single and practice.week:
        day = days.first
        if calendar.closed(day):
            text = f"{calendar.why_closed([day])} Our opening hours:\n{lines}"
        else:
            text = f"On {day:%A}s we're open {calendar.hours_text(day)}."
    else:
        text = f"Our opening hours ({practice.timezone}):\n{lines}" if lines else _no_hours(turn)
    return _say(turn, text, MENU if alone else (), alone)


def duration(turn: Turn, act: Act) -> Reply:
    named = [s for s in turn.practice.services if s.id in act.reading.services]
    if named:
        text = " ".join(f"A {s.name} takes about {s.duration_minutes} minutes." for s in named[:3])
    else:
        listed = ", ".join(f"{s.name} {s.duration_minutes} minutes" for s in turn.practice.services[:6])
        text = f"It depends on the visit: {listed}."
    return _say(turn, text, (), False)


def offered(turn: Turn, act: Act, alone: bool) -> Reply:
    named = [s for s in turn.practice.services if s.id in act.reading.services]
    names = " and ".join(s.name for s in named[:2])
    if not alone:
        return _say(turn, f"Yes, we do {names}.", (), False)
    chips = tuple(QuickReply(f"Book {s.name}", f"service:{s.id}") for s in named[:2])
    return _say(turn, f"Yes, we do {names}. Would you like to book?", chips, True)


def not_offered(turn: Turn, act: Act, alone: bool) -> Reply:
    """ "We don't do implants here", then what the practice can do instead."""
    known = faq.best_match(act.said, turn.practice.faq, FAQ_FIRST_SCORE)
    if known is not None:
        return _say(turn, known.entry.answer, (), alone)
    services = list(turn.practice.services)
    term = lexicon.named(act.subject)
    if term is None:
        listed = ", ".join(s.name for s in services[:6])
        text = f"I can't find {act.subject} among our services. We offer {listed}."
        chips = tuple(QuickReply(s.name, f"service:{s.id}") for s in services[:5])
    else:
        text = f"Sorry, we don't do {term.name} here."
        assessor = next((s for s in services if _ASSESS.search(_words(s))), None) if term.assess else None
        related = [s for s in services if any(w in _words(s) for w in term.related) and s is not assessor]
        if related:
            text += f" We do offer {' and '.join(s.name for s in related[:2])}."
        if assessor is not None:
            text += f" {_who(turn)} can look at what you need at a {assessor.name}."
        chips = tuple(
            QuickReply(s.name, f"service:{s.id}") for s in [*related[:2], *([assessor] if assessor else [])]
        )
    text += " Would you like to book something, or shall I ask a member of the team?"
    return _say(turn, text, (*chips, TALK_TO_A_PERSON) if alone else (), alone)


def from_faq(turn: Turn, act: Act, alone: bool) -> Reply:
    chosen = next((e for e in turn.practice.faq if e.id == act.faq), None)
    match = faq.best_match(act.subject or act.said, turn.practice.faq) if chosen is None else None
    if chosen is not None or match is not None:
        return _say(turn, (chosen or match.entry).answer, (), alone)  # type: ignore[union-attr]
    call = f" or call us on {turn.practice.staff_phone}" if turn.practice.staff_phone else ""
    if act.topic == "price":
        text = f"I can't quote prices here: a member of the {turn.practice.name} team can tell you{call}."
    else:
        text = f"I'm sorry, I don't have an answer to that here. A member of the team can help{call}."
    return _say(turn, text, (TALK_TO_A_PERSON,) if alone else (), alone)


def _no_hours(turn: Turn) -> str:
    return f"Please call {turn.practice.name} for our hours."


def _words(service: ServiceInfo) -> str:
    return " ".join((service.name, *service.aliases, service.description)).lower()


def _who(turn: Turn) -> str:
    words = " ".join(_words(s) for s in turn.practice.services)
    if re.search(r"\b(?:dental|dentist|teeth|tooth)\b", words):
        return "The dentist"
    if re.search(r"\b(?:doctor|gp|nurse|clinic)\b", words):
        return "The doctor"
    return "We"


def _say(turn: Turn, text: str, chips: tuple[QuickReply, ...], alone: bool) -> Reply:
    """An answer; it takes the place of the choices on offer only when it stands alone."""
    if alone:
        return turn.say(text, chips, remember=False)
    return Reply(text=text, quick_replies=chips)
