"""The deterministic engine: a receptionist that needs no language model.

Every message is read into an ordered list of dialogue acts (`agent.understanding.read_acts`); the
acts are carried out in order, in the same turn, through the same tool executor (and so the same
policy) as a language model's would be (`carry_out`, which a language model's acts go through too).
A question answered on the way leaves the request in progress as it was; a request that must wait
for the patient (a cancel's yes) keeps the ones after it for when it is done. Quick replies are
shortcuts: a chip's label, its number, or words that point at it all choose it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from agent.dialogue import answers, booking, existing, pending, talk
from agent.dialogue.turn import INTENT_TOOLS, Turn
from agent.executor import ToolExecutor
from agent.ports import BookingInfo
from agent.replies import QuickReply, Reply, when_label
from agent.state import LapsedHold
from agent.understanding import Act, Reading, read_acts
from policy.replies import appointment_changes

CHIP_PREFIXES = frozenset({"slot", "service", "ref", "intent", "clarify"})
TASKS = ("cancel", "reschedule", "lookup", "waitlist")
QUESTIONS = frozenset({"answer", "not_offered"})
# Questions the patient must answer before a later request of the same message can go on.
WAITS_FOR_PATIENT = frozenset(
    {"cancel_confirm", "confirm_move", "which_booking", "reference", "lookup_contact", "far_date", "clarify"}
)
YES_NO_QUESTIONS = frozenset({"confirm_booking", "confirm_move", "cancel_confirm", "far_date"})
EXISTING_TASKS = {"move": "reschedule", "cancel": "cancel", "lookup": "lookup"}
# A second reading this close to the first, where both could be meant, is asked about.
CLOSE = 0.25


class DeterministicPlanner:
    def __init__(self, tools: ToolExecutor, now: datetime) -> None:
        self.turn = Turn(tools, now)
        self._bookings: list[BookingInfo] | None = None

    @property
    def understood(self) -> bool:
        return self.turn.understood

    async def respond(self, text: str, acts: list[Act] | None = None) -> list[Reply]:
        """The replies to one message; `acts` when something else (a language model) read it."""
        replies = self._lapse_notice()
        value = resolve_choice(text, self.turn.state)
        if is_chip(value):
            replies += await self._chip(value)
        else:
            replies += await self.carry_out(
                acts if acts is not None else read_acts(value, self.turn.context())
            )
        if self.turn.understood:
            self.turn.state.misses = 0  # only answers that went nowhere, in a row, count
        return replies

    async def carry_out(self, acts: list[Act]) -> list[Reply]:
        """Every act of a message, in order. Answers come first in the reply; a request that must
        wait for the patient keeps the requests after it queued."""
        state = self.turn.state
        if len(acts) > 1:
            acts = [a for a in acts if a.kind != "greet"] or acts  # "hi! do you do implants?"
        for act in acts:
            self._absorb_contact(act.reading)
        asked: list[Reply] = []
        done: list[Reply] = []
        tasks = [a for a in acts if a.kind not in QUESTIONS]
        for act in acts:
            if act.kind in QUESTIONS:
                asked += await answers.answer(self.turn, act, alone=not tasks)
                continue
            if done and state.awaiting in WAITS_FOR_PATIENT:
                state.queued += [f"{act.kind}\t{act.said}"]
                continue
            done += await self._act(act)
        if not done and asked and state.task is not None:
            again = self.turn.ask_again()
            done = [again] if again is not None else []
        replies = asked + done
        if state.queued and state.task is None and state.awaiting is None:
            kind, _, said = state.queued.pop(0).partition("\t")
            later = read_acts(said, self.turn.context())
            if kind == "book":  # "cancel it and rebook": read alone, "rebook" would be a move
                later = [
                    replace(a, kind="book", topic=None, alternative=None) if a.kind == "existing" else a
                    for a in later
                ]
            replies += await self.carry_out(later)
        return replies

    # ---- one act ----

    async def _act(self, act: Act) -> list[Reply]:
        turn, state = self.turn, self.turn.state
        act = await self._settle(act)
        reading = act.reading
        if state.awaiting == "clarify" and act.kind in {"existing", "book"}:
            return await self._chip("clarify:" + ("move" if act.kind == "existing" else "book"))
        answers_yes_no = state.awaiting in YES_NO_QUESTIONS and (reading.yes or reading.no)
        if answers_yes_no and not reading.changes_search and act.kind in {"existing", "book", "frame"}:
            return await self._frame(reading)  # "cancel that" at a summary is its no
        if act.kind == "existing" and state.task == "book" and act.topic == "move" and reading.says_when:
            return await self._frame(reading)  # "can we move it to Friday" while booking: a correction
        match act.kind:
            case "existing":
                intent = EXISTING_TASKS[act.topic or "lookup"]
                return await self._start(intent, act.reading, act.hint)
            case "book":
                if act.topic == "another" or state.task not in {"book", "waitlist"}:
                    return await self._start("book", act.reading)
                return await self._frame(act.reading)
            case "waitlist":
                return await self._start("waitlist", act.reading)
            case "human":
                return await existing.hand_to_human(turn, act.said)
            case "decline":
                if act.topic == "keep" and state.awaiting not in {"cancel_confirm", "confirm_move"}:
                    return await self._frame(act.reading)
                return await talk.decline(turn, act)
            case "restart":
                return await talk.restart(turn)
            case "help":
                return talk.help_with(turn)
            case "menu":
                return talk.menu(turn)
            case "greet":
                return talk.greet(turn)
            case "thanks":
                return talk.thanks(turn)
            case "bye":
                return await talk.bye(turn)
            case "unknown":
                if act.topic is None:
                    return await self._frame(act.reading)
                return talk.unreadable(turn, act.topic)
            case "clarify":
                return [self._ask_which(act)]
        return await self._frame(act.reading)

    async def _settle(self, act: Act) -> Act:
        """The reading to carry out when a second one was close: moving the booking in play rather
        than starting another ("can I do Friday at 3 instead?"), or asking which was meant."""
        alternative, state = act.alternative, self.turn.state
        if alternative is None or state.task in {"book", "waitlist", "reschedule"} or state.hold is not None:
            return act
        if state.reference is None and not await self._has_bookings():
            return act
        if alternative.confidence >= act.confidence:
            return alternative
        if act.confidence - alternative.confidence < CLOSE:
            return replace(act, kind="clarify")
        return act

    async def _has_bookings(self) -> bool:
        turn = self.turn
        if self._bookings is None:
            self._bookings = []
            if turn.tools.facts.channel_phone is not None or turn.state.verified_customer_id is not None:
                outcome = await turn.tools.call("lookup_booking", {})
                self._bookings = list(outcome.result) if outcome.ok else []
        return bool(self._bookings)

    def _ask_which(self, act: Act) -> Reply:
        turn, state = self.turn, self.turn.state
        state.clarifying = act.said
        state.awaiting = "clarify"
        what = "your appointment"
        if self._bookings:
            booked = self._bookings[0]
            what = f"your {booked.service_name} on {when_label(booked.starts_at, turn.practice.timezone)}"
        chips = (
            QuickReply("Move my appointment", "clarify:move"),
            QuickReply("Book a new appointment", "clarify:book"),
        )
        return turn.say(f"Just to check: would you like to move {what}, or book a new appointment?", chips)

    # ---- slots: carry on with what is in progress ----

    async def _frame(self, reading: Reading) -> list[Reply]:
        turn, state = self.turn, self.turn.state
        reading, value = _pointed_at(reading, reading.text, state)
        if is_chip(value):
            return await self._chip(value, reading)
        turn.understood = reading.understood
        awaiting = state.awaiting
        if reading.texts is not None and awaiting == "confirm_booking":
            state.sms_consent = reading.texts  # "book it, but no texts": a new summary to say yes to
            return await booking.confirm(turn)
        # A yes or no to the question asked; "no, 2pm instead" is a correction, not a no.
        answers_question = awaiting in {"confirm_booking", "confirm_move", "cancel_confirm", "far_date"} and (
            reading.yes or reading.no
        )
        if answers_question and (not reading.changes_search or (reading.no and awaiting == "cancel_confirm")):
            return await pending.answer_yes_no(turn, reading.yes)
        if state.lapsed is not None and reading.yes and not reading.changes_search and state.task == "book":
            return await booking.hold_again(turn)  # a late yes: is the time held before still free?
        if state.task in {"book", "reschedule"} and awaiting == "time":
            answered = await pending.answer_offer(turn, reading, self._take)
            if answered is not None:
                return answered
        if state.task is None and (reading.services or reading.says_when):
            return await self._start("book", reading)  # a service or a time: they want to book
        if state.task is not None:
            return await self._continue(reading)
        if reading.name or reading.phone or reading.email:
            changes = appointment_changes(turn.practice.switches)
            return [turn.say(f"Thanks! What would you like to do: {changes}?", talk.MENU)]
        return talk.misunderstood(turn)

    async def _chip(self, value: str, reading: Reading | None = None) -> list[Reply]:
        turn, state = self.turn, self.turn.state
        kind, _, rest = value.partition(":")
        if kind == "slot" and state.task in {"book", "reschedule"}:
            return await self._take(datetime.fromisoformat(rest))
        if kind == "ref":
            state.reference = rest
            return await self._continue(reading or Reading(text=value, reference=rest))
        if kind == "clarify":
            said, state.clarifying, state.awaiting = state.clarifying or "", None, None
            acts = read_acts(said, turn.context()) if said else []
            return await self.carry_out(_as_chosen(acts, rest))
        if kind == "intent":
            if rest == "hours":
                return await answers.answer(turn, Act("answer", Reading(text=""), topic="hours"), alone=True)
            if rest == "human":
                return await existing.hand_to_human(turn, "asked for a person")
            return await self._start(rest, Reading(text=value))
        if kind == "service":
            chosen = reading or Reading(text=value, services=(rest,))
            chosen = replace(chosen, services=(rest,))
            if state.task is None:
                return await self._start("book", chosen)
            return await self._continue(chosen)
        return await self._continue(reading or Reading(text=value))

    async def _start(self, intent: str, reading: Reading, hint: Reading | None = None) -> list[Reply]:
        state = self.turn.state
        if intent in INTENT_TOOLS and not await self.turn.tools.switched_on(INTENT_TOOLS[intent]):
            return [self.turn.switched_off(INTENT_TOOLS[intent])]
        lead_in = ""
        if state.hold is not None and intent != "book":
            lead_in = await talk.let_go(self.turn)
        state.task = intent
        state.awaiting = None
        state.forget_search()
        if intent != "waitlist":
            state.pending_cancel = None
        replies = await self._continue(reading, hint)
        if lead_in and replies:
            replies[0] = Reply(lead_in + replies[0].text, replies[0].quick_replies, replies[0].card)
        return replies

    async def _continue(self, reading: Reading, hint: Reading | None = None) -> list[Reply]:
        task = self.turn.state.task
        if task == "book":
            return await booking.advance(self.turn, reading)
        if task == "waitlist":
            return await booking.advance_waitlist(self.turn, reading)
        if task in {"reschedule", "cancel", "lookup"}:
            return await existing.advance(self.turn, reading, hint)
        return [self.turn.say("How can I help?", talk.MENU)]

    async def _take(self, starts_at: datetime, provider_id: str | None = None) -> list[Reply]:
        state = self.turn.state
        offered = next((o for o in state.offered if o.starts_at == starts_at), None)
        if provider_id is None and offered is not None:
            provider_id = offered.provider_id
        if state.task == "reschedule":
            return await existing.move(self.turn, starts_at)
        return await booking.hold(self.turn, starts_at, provider_id)

    # ---- between turns ----

    def _lapse_notice(self) -> list[Reply]:
        """A held time that ran out since the last message is said, once; a late yes checks it."""
        turn, state = self.turn, self.turn.state
        hold = state.hold
        if hold is None or hold.expires_at > turn.now:
            return []
        state.hold = None
        state.lapsed = LapsedHold(service_id=hold.service_id, starts_at=hold.starts_at)
        when = when_label(hold.starts_at, turn.practice.timezone)
        return [Reply(text=lapse_text(when, turn.practice.hold_minutes))]

    def _absorb_contact(self, reading: Reading) -> None:
        """Keep a name, phone or e-mail the patient mentions, whenever they mention it."""
        turn, state = self.turn, self.turn.state
        if state.awaiting in {"lookup_contact", "reference"}:
            return  # proof of identity for a lookup, not details for a new booking
        if reading.email:
            state.email = reading.email
        if reading.phone:
            normalized = turn.tools.desk.normalize_contact(reading.phone)
            if normalized is not None and normalized.startswith("+"):
                state.phone = normalized
                if state.awaiting == "contact":
                    # Given in answer to a question that said what the number is for.
                    state.sms_consent = reading.texts is not False
            else:
                turn.bad_phone = True
        if reading.name:
            state.name = reading.name


def lapse_text(when: str, hold_minutes: int) -> str:
    return (
        f"The time I was holding for you ({when}) has been released: I can hold a time for "
        f"{hold_minutes} minutes. Say yes if you'd still like it and I'll check it's free."
    )


def _as_chosen(acts: list[Act], which: str) -> list[Act]:
    """The acts of a message asked about, read as the patient then said: a move or a new booking."""
    if which == "move":
        chosen = [replace(a.alternative, said=a.said) if a.alternative else a for a in acts]
        return chosen or [Act("existing", Reading(text=""), topic="move")]
    return [replace(a, kind="book", alternative=None) for a in acts] or [Act("book", Reading(text=""))]


def is_chip(value: str) -> bool:
    return value.split(":", 1)[0] in CHIP_PREFIXES


def _pointed_at(reading: Reading, value: str, state) -> tuple[Reading, str]:  # noqa: ANN001
    """A typed answer that points at one of the quick replies on offer counts as tapping it; what
    else the message said (a name, a phone) is kept."""
    chosen = reading.chosen
    if chosen is None or chosen >= len(state.choices):
        return reading, value
    chip = state.choices[chosen].value
    if not is_chip(chip):
        return reading, value
    kind, _, rest = chip.partition(":")
    if kind == "service":
        reading = replace(reading, services=(rest,))
    elif kind == "intent":
        reading = replace(reading, intents=(rest,))
    elif kind == "ref":
        reading = replace(reading, reference=rest)
    return reading, chip


def resolve_choice(text: str, state) -> str:  # noqa: ANN001
    """A chip's value from its label, or from its number ("2") as SMS and voice patients answer."""
    answer = text.strip()
    for choice in state.choices:
        if answer.lower() == choice.label.lower():
            return choice.value
    if answer.isascii() and answer.isdigit() and len(answer) <= 2 and 1 <= int(answer) <= len(state.choices):
        return state.choices[int(answer) - 1].value
    return answer
