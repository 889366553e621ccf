"""What a turn does for each triage band, and what it tells the patient about it.

- emergency: the fixed safety message (the local emergency number, a crisis line or poison control
  where relevant), no transactional tool runs, the clinic is alerted;
- possible: the emergency line and "Is this happening right now?"; booking is not blocked, a yes
  makes it an emergency, a no goes on with what the patient asked;
- urgent (dental): first aid where guidance gives one, the earliest free time today offered first
  (or a person), the clinic alerted.

On a phone call the same bands speak for the ear (short sentences, the emergency number said once,
digit by digit) and offer what a call can do: press 1 or say "emergency" to be connected to the
emergency number, press 2 to be connected to the clinic when it has a staff number. The choice is
the turn's `dial`; the voice channel puts the call through.

The patient is told the truth about the alert: that the clinic was alerted, and whether a member
of staff is online to see the conversation now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from agent.executor import ToolExecutor, ToolOutcome
from agent.ports import BookingInfo, Desk, HoldInfo, PracticeInfo, ServiceInfo, SlotInfo
from agent.replies import QuickReply, Reply, time_label, when_label
from agent.state import Choice, ConversationState, OfferedSlot, SafetyCheck, Search
from policy import replies as reply_rules
from policy import triage

NOW_CHIP = QuickReply("Yes, it's happening now", "triage:now")
NOT_NOW_CHIP = QuickReply("No", "triage:not_now")
PERSON_CHIP = QuickReply("Talk to a person", "intent:human")
CALL_EMERGENCY = "connect:emergency"
CALL_CLINIC = "connect:clinic"
_NEGATED = re.compile(r"\b(?:no|not|don'?t|do not|never)\b|n't\b")
_WANTS_EMERGENCY = re.compile(
    r"\b(?:emergency|emergencies|ambulance|paramedics?|nine one one|911|999|112|000|111)\b"
)
_WANTS_CLINIC = re.compile(r"\b(?:clinic|practice|team|staff|office|receptionist|person|someone|doctor)\b")
# Words that name a visit for a problem that cannot wait, in a service's name, aliases or description.
_URGENT_SERVICE = re.compile(r"\b(?:emergency|urgent|same[- ]day|toothache|pain|walk[- ]in)\b", re.I)
_NOW = re.compile(
    r"^(?:yes|yeah|yep|yup|ya|y|yes it is|it is|it's happening|happening now|right now|now|still|currently"
    r"|it's still|he is|she is|they are|i am|i'm)\b(?!\s*(?:not|n't)\b)"
)
_NOT_NOW = re.compile(
    r"^(?:no|nope|nah|n|not now|not right now|it's not|it isn't|it was|that was|not anymore|no longer"
    r"|earlier|last|in the past|it stopped|it's over|it's fine|i'm fine|all good)\b"
)
_BARE_NOT_NOW = re.compile(
    r"^(?:no|nope|nah|n|not now|not right now|it's not|it isn't)[\s.!,]*(?:thanks?)?\W*$"
)


@dataclass(frozen=True)
class ClinicAlerted:
    """What the clinic was told, so the patient hears the truth about it."""

    # A member of staff has the workspace open right now; None when that cannot be known.
    staff_online: bool | None
    # The clinic's on-call number was texted.
    on_call_texted: bool


class SafetyDesk(Desk, Protocol):
    async def alert_clinic(self, band: str, category: str) -> ClinicAlerted:
        """Flag the conversation, tell the clinic (inbox, event, on-call text, e-mail) once per
        conversation and band, and say who can see it now."""
        ...

    async def record_safety(self, action: str, details: dict[str, Any]) -> None:
        """Audit a safety decision of this turn (a band, the patient's answer, a reply replaced)."""
        ...


def alerted_sentence(alerted: ClinicAlerted) -> str:
    paged = " and texted the person on call" if alerted.on_call_texted else ""
    if alerted.staff_online:
        return (
            f"I've alerted the clinic{paged}, and a member of staff is online now and can see this "
            "conversation."
        )
    if alerted.staff_online is False:
        return f"I've alerted the clinic{paged}, but no one is watching this conversation right now."
    return f"I've alerted the clinic{paged}."


def alerted_on_the_phone(alerted: ClinicAlerted) -> str:
    """What the clinic was told, for a caller: no screen, so nothing about who can see it."""
    paged = ", and texted the person on call" if alerted.on_call_texted else ""
    return f"I've alerted the clinic{paged}."


async def emergency(
    desk: SafetyDesk,
    practice: PracticeInfo,
    state: ConversationState,
    category: str,
    source: str,
    channel: str = "web",
) -> list[Reply]:
    await desk.record_triage(category)
    if source != "rules":
        await desk.record_safety("triage.escalated", {"category": category, "source": source})
    alerted = await desk.alert_clinic("emergency", category)
    state.awaiting = None
    state.choices = []
    if channel == "voice":
        return [_connect_offer(practice, state, category, alerted)]
    return [Reply(text=f"{triage.safety_message(category, practice.country)} {alerted_sentence(alerted)}")]


def _connect_offer(
    practice: PracticeInfo, state: ConversationState, category: str, alerted: ClinicAlerted
) -> Reply:
    """The emergency on a call: the message, what the clinic was told, and the offer to put the
    call through. The keys are the choices on offer (no quick replies: the offer is its own
    prompt, not a list of options to read out)."""
    number = triage.emergency_number(practice.country)
    state.choices = [Choice(label=f"Connect me to {number}", value=CALL_EMERGENCY)]
    offer = f"Press 1, or say emergency, to be connected to {triage.spoken_number(number)} now."
    if practice.staff_phone:
        state.choices.append(Choice(label="Connect me to the clinic", value=CALL_CLINIC))
        offer += " Press 2 to be connected to the clinic."
    said = (triage.spoken_safety_message(category, practice.country), alerted_on_the_phone(alerted), offer)
    return Reply(text=" ".join(said))


def connection(value: str, text: str, state: ConversationState) -> str | None:
    """The connection a caller chose after the emergency offer (its key, or "emergency", "the
    clinic"): CALL_EMERGENCY or CALL_CLINIC; None when nothing was chosen or none is on offer."""
    offered = {c.value for c in state.choices}
    if CALL_EMERGENCY not in offered:
        return None
    if value in offered and value in {CALL_EMERGENCY, CALL_CLINIC}:
        return value
    said = text.lower().replace("\u2019", "'")
    if _NEGATED.search(said):
        return None
    if _WANTS_EMERGENCY.search(said):
        return CALL_EMERGENCY
    if CALL_CLINIC in offered and _WANTS_CLINIC.search(said):
        return CALL_CLINIC
    return None


async def connect(
    desk: SafetyDesk, practice: PracticeInfo, state: ConversationState, chosen: str
) -> tuple[Reply, str]:
    """Put the call through to what the caller chose: the reply, and the number to dial."""
    state.choices = []
    state.awaiting = None
    await desk.record_safety("triage.connected", {"to": chosen.removeprefix("connect:")})
    if chosen == CALL_CLINIC and practice.staff_phone:
        return Reply(text="Connecting you to the clinic now. Please stay on the line."), practice.staff_phone
    number = triage.emergency_number(practice.country)
    return Reply(text=f"Connecting you to {triage.spoken_number(number)} now."), number


async def ask_if_happening(
    desk: SafetyDesk,
    practice: PracticeInfo,
    state: ConversationState,
    category: str,
    text: str,
    source: str,
    channel: str = "web",
) -> list[Reply]:
    """The emergency line, and the question whose yes makes it an emergency."""
    await desk.record_safety("triage.possible", {"category": category, "source": source})
    state.safety_check = SafetyCheck(
        category=category, text=text, awaiting=state.awaiting, choices=state.choices
    )
    state.awaiting = None
    chips = (NOW_CHIP, NOT_NOW_CHIP)
    state.choices = [Choice(label=c.label, value=c.value) for c in chips]
    if channel == "voice":  # the question is its own prompt: its keys are said with it
        help_now = triage.spoken_possible_message(category, practice.country)
        return [
            Reply(
                text=f"{help_now} Is this happening right now? Press 1 or say yes if it is. "
                "Press 2 or say no if it isn't."
            )
        ]
    message = f"{triage.safety_message(category, practice.country)} Is this happening right now?"
    return [Reply(text=message, quick_replies=chips)]


Answer = Literal["now", "not_now", "bare_no"]


def answer_to_check(text: str, choice: str | None, state: ConversationState) -> Answer | None:
    """What a message says to "Is this happening right now?": "now"; "not_now", or "bare_no" when
    it says nothing else; None when it answers neither."""
    value = choice if choice in {NOW_CHIP.value, NOT_NOW_CHIP.value} else _chip_named(text, state)
    if value == NOW_CHIP.value:
        return "now"
    if value == NOT_NOW_CHIP.value:
        return "bare_no"
    message = " ".join(text.lower().replace("\u2019", "'").split())
    if _NOW.match(message):
        return "now"
    if _BARE_NOT_NOW.match(message):
        return "bare_no"
    return "not_now" if _NOT_NOW.match(message) else None


def _chip_named(text: str, state: ConversationState) -> str | None:
    answer = text.strip().lower()
    for number, offered in enumerate(state.choices, start=1):
        if answer in {offered.label.lower(), str(number)}:
            return offered.value
    return None


def not_now_reply(practice: PracticeInfo, channel: str = "web") -> Reply:
    number = triage.emergency_number(practice.country)
    if channel == "voice":
        number = triage.spoken_number(number)
    return Reply(text=f"Okay. If it does happen, call {number} straight away.")


@dataclass(frozen=True)
class UrgentVisit:
    """What an urgent dental problem brings to the turn: first aid and what the clinic was told
    (`lead`), and the earliest free time today for the clinic's visit for it, if there is one."""

    lead: str
    service: ServiceInfo
    slot: SlotInfo | None


async def urgent_visit(
    desk: SafetyDesk, tools: ToolExecutor, category: str, advice: str | None, now: datetime
) -> UrgentVisit:
    practice, state = tools.practice, tools.state
    await desk.record_safety("triage.urgent", {"category": category, "rule": "triage.urgent"})
    alerted = await desk.alert_clinic("urgent", category)
    said = ("That needs a dentist today.", advice, alerted_sentence(alerted))
    service = urgent_service(practice, state)
    today = now.astimezone(ZoneInfo(practice.timezone)).date()
    found = await tools.call("check_availability", {"service_id": service.id, "date_from": today.isoformat()})
    later_today = [s for s in (found.result if found.ok else []) if s.starts_at > now]
    slot = min(later_today, key=lambda s: s.starts_at) if later_today else None
    return UrgentVisit(" ".join(part for part in said if part), service, slot)


async def with_urgent_visit(
    visit: UrgentVisit, tools: ToolExecutor, planned: list[Reply], understood: bool
) -> list[Reply]:
    """The urgent visit first. A message that asked for something the planner understood ("could I
    come in with a broken tooth on the 1st") keeps its answer after it, and the patient can still
    say "today"; otherwise the earliest time today is the one offer (or a person when there is none)."""
    state, timezone = tools.state, tools.practice.timezone
    if visit.slot is None:
        reason = f"urgent dental problem; no free time left today ({visit.service.name})"
        asked = await tools.call("request_human", {"reason": reason})
        note = (
            "There's no free time left today, so I've asked the team to get back to you as soon as they can."
            if asked.ok
            else "There's no free time left today. Please call the clinic."
        )
        if not understood:
            state.task = state.awaiting = None
            state.choices = []
            planned = []
        return [Reply(text=f"{visit.lead} {note}"), *planned]
    if understood:
        earliest = f"{time_label(visit.slot.starts_at, timezone)} with {visit.slot.provider_name}"
        mention = f'The earliest time today is {earliest}: say "today" if you\'d like to come in then.'
        return [Reply(text=f"{visit.lead} {mention}"), *planned]
    state.misses = 0
    today = visit.slot.starts_at.astimezone(ZoneInfo(timezone)).date()
    return [_offer_first(visit.lead, visit.service, visit.slot, state, timezone, today)]


def urgent_service(practice: PracticeInfo, state: ConversationState) -> ServiceInfo:
    """The clinic's visit for problems that cannot wait; else the service being booked; else the
    shortest one (an examination, usually)."""
    for service in practice.services:
        if _URGENT_SERVICE.search(" ".join((service.name, *service.aliases, service.description))):
            return service
    current = next((s for s in practice.services if s.id == state.search.service_id), None)
    return current or min(practice.services, key=lambda s: s.duration_minutes)


def _offer_first(
    lead: str, service: ServiceInfo, slot: SlotInfo, state: ConversationState, timezone: str, today: date
) -> Reply:
    """The earliest time as the one offer of a booking of `service` today: a yes, its chip or its
    time takes it, as with any other offer."""
    state.task = "book"
    state.search = Search(service_id=service.id, first_day=today, last_day=today)
    state.offered = [
        OfferedSlot(starts_at=slot.starts_at, provider_id=slot.provider_id, provider_name=slot.provider_name)
    ]
    state.awaiting = "time"
    label = when_label(slot.starts_at, timezone)
    chips = (QuickReply(label, f"slot:{slot.starts_at.isoformat()}"), PERSON_CHIP)
    state.choices = [
        Choice(label=label, value=chips[0].value, starts_at=slot.starts_at),
        Choice(label=PERSON_CHIP.label, value=PERSON_CHIP.value),
    ]
    text = (
        f"{lead} The earliest time today is {time_label(slot.starts_at, timezone)} with "
        f"{slot.provider_name} ({service.name}). Shall I hold it for you, or would you rather talk to "
        "a person?"
    )
    return Reply(text=text, quick_replies=chips)


class WitnessedTools(ToolExecutor):
    """The tool executor, keeping what each call returned: a model's reply is checked against it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcomes: list[ToolOutcome] = []

    async def call(self, name: str, raw_args: Any) -> ToolOutcome:
        outcome = await super().call(name, raw_args)
        self.outcomes.append(outcome)
        return outcome


def reply_facts(tools: WitnessedTools, now: datetime) -> reply_rules.ReplyFacts:
    """What a model's reply may rely on: the FAQ, the times held or booked, the free times found."""
    state = tools.state
    held: list[datetime] = []
    offered: list[datetime] = [o.starts_at for o in state.offered]
    if state.hold is not None and state.hold.expires_at > now:
        held.append(state.hold.starts_at)
    for outcome in tools.outcomes:
        results = outcome.result if isinstance(outcome.result, list) else [outcome.result]
        for result in results if outcome.ok else []:
            if isinstance(result, HoldInfo | BookingInfo):
                held.append(result.starts_at)
            elif isinstance(result, SlotInfo):
                offered.append(result.starts_at)
    faq = "\n".join(line for entry in tools.practice.faq for line in (*entry.questions, entry.answer))
    return reply_rules.ReplyFacts(tools.practice.timezone, faq, tuple(held), tuple(offered))


async def checked(desk: SafetyDesk, replies: list[Reply], facts: reply_rules.ReplyFacts) -> list[Reply]:
    """Each reply as the rules allow it: a refused one is replaced by the rule's safe wording (its
    quick replies and card, which our own code made, are kept) and audited."""
    kept = []
    for reply in replies:
        verdict = reply_rules.check_reply(reply.text, facts)
        if not verdict.allowed:
            await desk.record_safety("policy.reply_blocked", {"rule": verdict.rule, "reason": verdict.reason})
        kept.append(Reply(text=verdict.text, quick_replies=reply.quick_replies, card=reply.card))
    return kept
