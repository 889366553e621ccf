"""Rules for the receptionist's own words.

The patient is told once per conversation, on every channel, that they are talking to an automated
assistant that cannot give medical advice. And a language model's reply is checked before the
patient sees it: one that gives medical advice, states a price or a policy the clinic's FAQ does not
state, or promises a time that is not held or booked is replaced by a safe wording. Recall first, as
in triage: a reply wrongly replaced costs the patient one plain answer; a wrong one reaching them
can cost their health or the clinic's word.

Pure: the agent passes the reply, the FAQ's text (empty when the clinic has none) and the times the
conversation holds or has booked; the verdict names the rule, so it can be audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from policy.facts import Switches


def appointment_changes(switches: Switches) -> str:
    """ "book, reschedule or cancel": what patients may do here by themselves, as the clinic switched."""
    verbs = ["book"] + ["reschedule"] * switches.self_reschedule + ["cancel"] * switches.self_cancel
    return verbs[0] if len(verbs) == 1 else f"{', '.join(verbs[:-1])} or {verbs[-1]}"


def widget_greeting(switches: Switches) -> str:
    return (
        "Hi! I'm an automated assistant, not a person, and I can't give medical advice. I can "
        f"{appointment_changes(switches)} an appointment for you. How can I help?"
    )


def disclosure(practice: str) -> str:
    """What the first text of a thread starts with, and the phone greeting says."""
    return f"This is {practice}'s automated assistant. It can't give medical advice."


def voice_greeting(practice: str, switches: Switches) -> str:
    return (
        f"Thanks for calling {practice}. I'm an automated assistant, and I can't give medical advice. "
        f"I can {appointment_changes(switches)} an appointment, or tell you our opening hours. "
        "How can I help?"
    )


SAFE_WORDINGS = {
    "replies.medical_advice": (
        "I'm an automated assistant, so I can't give medical advice. If it's urgent, please call the "
        "clinic, or your local emergency number in an emergency. I can book you an appointment or ask "
        "someone from the team to get back to you."
    ),
    "replies.unstated_price": (
        "I don't have our prices to hand, so I'd rather not guess. I can ask someone from the team to "
        "get back to you, or help you book, move or cancel an appointment."
    ),
    "replies.unstated_policy": (
        "I'm not sure about that, so I'd rather not guess. I can ask someone from the team to get back "
        "to you, or help you book, move or cancel an appointment."
    ),
    "replies.unheld_time": (
        "I haven't held or booked a time for you yet. Which day and time would you like me to check?"
    ),
}


@dataclass(frozen=True)
class ReplyFacts:
    """What a reply may rely on besides the catalogue and hours the model was given."""

    timezone: str
    # The clinic's FAQ as text; empty when it has none (then no price or policy may be stated).
    faq: str = ""
    # Times the conversation holds or has booked (its hold, bookings made, moved or looked up).
    held: tuple[datetime, ...] = ()
    # Free times the tools found: a reply may offer them ("I can book you at 2 PM, shall I?").
    offered: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class ReplyCheck:
    allowed: bool
    rule: str
    reason: str
    # The reply to send: the model's own when allowed, the rule's safe wording otherwise.
    text: str


_MEDICATION = (
    r"ibuprofen|advil|motrin|nurofen|paracetamol|acetaminophen|tylenol|aspirin|naproxen|aleve|codeine"
    r"|tramadol|opioids?|antibiotics?|amoxicillin|penicillin|clindamycin|metronidazole|painkillers?"
    r"|pain ?relievers?|pain medications?|anti-?inflammator(?:y|ies)|orajel|benzocaine|anbesol|lidocaine"
    r"|numbing gel|antihistamines?|benadryl|epi-?pens?|epinephrine|nitroglycerin|inhalers?|clove oil"
)
_MEDICAL_ADVICE = re.compile(
    rf"\b(?:{_MEDICATION})\b"
    r"|\b\d+(?:\.\d+)?\s?(?:mg|milligrams?|ml|millilit(?:er|re)s?|tablets?|pills?|capsules?|doses?)\b"
    r"|\b(?:rinse|gargle|swish)\b"
    r"|\b(?:salt ?water|ice pack|cold compress|warm compress|heat pack)\b"
    r"|\bapply (?:some |a |an )?(?:ice|cold|heat|warm|pressure|cream|ointment|gel)\b"
    r"|\b(?:avoid|stop|don'?t|do not)\b (?:eating|chewing|drinking|brushing|smoking|taking|using)\b"
    r"|\b(?:it|this|that) (?:sounds|looks|seems) like (?:you(?:'ve| have)? (?:got )?)?(?:an? |a case of )?"
    r"(?:infection|abscess|cavity|cavities|decay|gum disease|gingivitis|dry socket|cracked|fracture|pulpitis"
    r"|sinus|allerg|nerve|tmj|wisdom)"
    r"|\byou (?:probably|likely|may|might|could|most likely) have\b"
    r"|\bit'?s (?:probably|likely|most likely|just|only) (?:an? )?(?:infection|abscess|cavity|decay|"
    r"sensitivity|inflammation|a cold|allerg\w*|nothing)"
    r"|\b(?:nothing to worry about|not (?:anything )?serious|perfectly normal|completely normal|should heal"
    r"|will heal|heals? on its own|go(?:es)? away on (?:its|their) own)\b"
    r"|\b(?:diagnos(?:e|is|ed)|prescri(?:be|ption))\b"
)
_PRICE = re.compile(
    r"(?:[$£€]\s?\d[\d,]*(?:\.\d\d)?)"
    r"|\b\d[\d,]*(?:\.\d\d)?\s?(?:dollars|usd|pounds|gbp|euros?|eur|bucks)\b"
    r"|\b(?:free of charge|no charge|at no cost|costs? nothing|complimentary|is free|are free|for free)\b",
    re.I,
)
_POLICY = re.compile(
    r"\b(?:insurance|insurer|insured|medicaid|medicare|nhs|in-network|out-of-network|copay|co-pay"
    r"|deductible|covered by|coverage|cover (?:it|the cost)|refund\w*|deposit|payment plans?|financing"
    r"|instal?lments?|fees?|penalt(?:y|ies)|surcharges?|cancellation (?:charge|policy)|no-show (?:charge"
    r"|policy)|late (?:charge|policy)|we (?:accept|take|don'?t take|do "
    r"not take|don'?t accept|do not accept) (?:\w+ ){0,2}(?:cards?|cash|checks?|cheques?|payments?"
    r"|insurance|plans?|patients?)|walk-ins?)\b",
    re.I,
)
_PROMISE = re.compile(
    r"\b(?:booked|book(?:ed)? you|reserved|reserve[ds]?|(?:i'?ve|i have|we'?ve|we have) (?:got|held|put|saved"
    r"|pencil+ed)|holding|held|confirmed|scheduled|all set|see you|pencil+ed in|locked in|secured|got you"
    r" down|put you down|it'?s yours|your (?:appointment|booking|visit) (?:is|will be))\b",
    re.I,
)
# An offer or a question, not a statement that something is done.
_OFFER = re.compile(r"\?|\b(?:can|could|shall|should|would|want|like|if|once)\b", re.I)
_CLOCK = re.compile(
    r"\b(?P<hour>1[0-2]|0?[1-9])(?::(?P<minute>[0-5]\d))?\s*(?P<half>[ap])\.?\s?m\b\.?"
    r"|\b(?P<hour24>[01]?\d|2[0-3]):(?P<minute24>[0-5]\d)\b"
    r"|\b(?P<noon>noon|midday)\b",
    re.I,
)
_WEEKDAY = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.I)
_EMERGENCY_DIRECTIONS = re.compile(
    r"\b(?:call|dial|ring) (?:911|999|112|000|111|988|an ambulance|emergency services|your local emergency"
    r" number|the emergency number|poison control)|\bemergency (?:room|department)\b|\ba&e\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[a-z0-9']+")
_STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from have i if in is it its it's of on or our so that the"
    " their there they this to we we're will with you your you're not no yes".split()
)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def check_reply(text: str, facts: ReplyFacts) -> ReplyCheck:
    """Allowed as written, or the first rule it breaks with the wording to send instead."""
    faq = facts.faq.lower()
    for sentence in _sentences(text):
        found = _breach(sentence, facts, faq)
        if found is not None:
            rule, reason = found
            return ReplyCheck(False, rule, reason, SAFE_WORDINGS[rule])
    return ReplyCheck(True, "replies.checked", "nothing the reply rules refuse", text)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def _breach(sentence: str, facts: ReplyFacts, faq: str) -> tuple[str, str] | None:
    lowered = sentence.lower().replace("\u2019", "'")
    directions = _EMERGENCY_DIRECTIONS.sub(" ", lowered)  # pointing to emergency help is not advice
    advice = _MEDICAL_ADVICE.search(directions)
    if advice is not None:
        return "replies.medical_advice", f"medical advice ({advice.group(0)!r})"
    for price in _PRICE.finditer(lowered):
        if not _stated_in(_amount(price.group(0)), faq):
            return "replies.unstated_price", f"a price the clinic's FAQ does not state ({price.group(0)!r})"
    policy = _POLICY.search(lowered)
    if policy is not None and not _supported(lowered, faq):
        return "replies.unstated_policy", f"a policy the clinic's FAQ does not state ({policy.group(0)!r})"
    if _PROMISE.search(lowered):
        allowed = facts.held + facts.offered if _OFFER.search(lowered) else facts.held
        for promised in _times(lowered):
            if not _among(promised, allowed, facts.timezone):
                return "replies.unheld_time", f"a promised time that is not held ({_clock_text(promised)})"
    return None


def _amount(price: str) -> str:
    digits = re.sub(r"[^\d.]", "", price).rstrip(".")
    return digits.removesuffix(".00") or price.strip().lower()


def _stated_in(needle: str, faq: str) -> bool:
    return bool(faq) and re.search(rf"(?<![\d.]){re.escape(needle)}(?![\d])", faq) is not None


def _supported(sentence: str, faq: str) -> bool:
    """The FAQ says it too: most of the sentence's content words are in it (the FAQ engine answers
    the FAQ's questions word for word; a model's paraphrase must not add a claim of its own)."""
    if not faq:
        return False
    words = {w for w in _WORD.findall(sentence) if w not in _STOPWORDS and len(w) > 2}
    known = set(_WORD.findall(faq))
    return bool(words) and len(words & known) / len(words) >= 0.8


# A promised time on the clinic's wall clock: (hour, minute, weekday), each None when not said.
_Promised = tuple[int | None, int | None, int | None]


def _times(sentence: str) -> list[_Promised]:
    weekdays = [_WEEKDAYS.index(m.group(1).lower()) for m in _WEEKDAY.finditer(sentence)]
    weekday = weekdays[0] if len(weekdays) == 1 else None
    found: list[_Promised] = []
    for match in _CLOCK.finditer(sentence):
        if match.group("noon"):
            hour, minute = 12, 0
        elif match.group("hour24"):
            hour, minute = int(match.group("hour24")), int(match.group("minute24"))
        else:
            hour = int(match.group("hour")) % 12 + (12 if match.group("half").lower() == "p" else 0)
            minute = int(match.group("minute") or 0)
        found.append((hour, minute, weekday))
    if not found and weekday is not None:
        found.append((None, None, weekday))  # "you're booked for Tuesday"
    return found


def _among(promised: _Promised, moments: tuple[datetime, ...], timezone: str) -> bool:
    hour, minute, weekday = promised
    zone = ZoneInfo(timezone)
    for moment in moments:
        local = moment.astimezone(zone)
        if hour is not None and (local.hour, local.minute) != (hour, minute):
            continue
        if weekday is None or weekday == local.weekday():
            return True
    return False


def _clock_text(promised: _Promised) -> str:
    hour, minute, weekday = promised
    day = _WEEKDAYS[weekday] if weekday is not None else ""
    clock = f"{hour:02d}:{minute:02d}" if hour is not None else ""
    return " ".join(part for part in (day, clock) if part)
