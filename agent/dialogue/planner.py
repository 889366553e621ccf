"""The deterministic engine: a receptionist that needs no language model.

Every message is read whole (`agent.understanding`) into one reading; the reading is merged into the
conversation's request frame and the next step is planned from what is still missing. Quick replies
are shortcuts: a chip's label, its number, or words that point at it ("the second one", "the 10:30",
"the Tuesday one") all choose it. Every action goes through the same tool executor, and so the same
policy, as a language model's would.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from agent.dialogue import booking, existing, offering
from agent.dialogue.turn import MENU, MORE_TIMES, TALK_TO_A_PERSON, Turn
from agent.executor import ToolExecutor
from agent.replies import QuickReply, Reply, when_label
from agent.state import ConversationState, Search
from agent.understanding import Reading, read

CHIP_PREFIXES = frozenset({"slot", "service", "ref", "intent"})
TASKS = ("cancel", "reschedule", "lookup", "waitlist")


class DeterministicPlanner:
    def __init__(self, tools: ToolExecutor, now: datetime) -> None:
        self.turn = Turn(tools, now)

    @property
    def understood(self) -> bool:
        return self.turn.understood

    async def respond(self, text: str) -> list[Reply]:
        replies = await self._respond(text)
        if self.turn.understood:
            self.turn.state.misses = 0  # only answers that went nowhere, in a row, count
        return replies

    async def _respond(self, text: str) -> list[Reply]:
        turn, state = self.turn, self.turn.state
        value = resolve_choice(text, state)
        reading = _chip_reading(value) if _is_chip(value) else read(value, turn.context())
        if not _is_chip(value):
            reading, value = _pointed_at(reading, value, state)
            self._absorb_contact(reading)
        turn.understood = _is_chip(value) or reading.understood
        awaiting = state.awaiting
        if reading.texts is not None and awaiting == "confirm_booking":
            state.sms_consent = reading.texts  # "book it, but no texts": a new summary to say yes to
            return await booking.confirm(turn)
        # A yes or no to the question asked; "no, 2pm instead" is a correction, not a no.
        answers = awaiting in {"confirm_booking", "confirm_move", "cancel_confirm", "far_date"} and (
            reading.yes or reading.no
        )
        if answers and (not reading.changes_search or (reading.no and awaiting == "cancel_confirm")):
            return await self._answer_yes_no(reading.yes)
        if value.startswith("slot:") and state.task in {"book", "reschedule"}:
            return await self._take(datetime.fromisoformat(value.removeprefix("slot:")))
        if value.startswith("ref:"):
            state.reference = value.removeprefix("ref:")
            return await self._continue(reading)
        started = await self._start_from_intents(reading)
        if started is not None:
            return started
        if state.task in {"book", "reschedule"} and awaiting == "time":
            answered = await self._answer_offer(reading)
            if answered is not None:
                return answered
        if state.task is None and (reading.services or reading.says_when):
            return await self._start("book", reading)  # a service or a time: they want to book
        if state.task is not None:
            return await self._continue(reading)
        return self._small_talk(reading)

    # ---- what the message asks for ----

    async def _start_from_intents(self, reading: Reading) -> list[Reply] | None:
        state = self.turn.state
        found = reading.intents
        if "human" in found:
            return await existing.hand_to_human(self.turn, reading.text)
        if "hours" in found:
            lines = "\n".join(self.turn.practice.opening_hours) or "Please call the practice for our hours."
            return [self.turn.say(f"Our opening hours ({self.turn.practice.timezone}):\n{lines}", MENU)]
        correcting = state.task == "book" and reading.changes_search
        for intent in TASKS:
            if intent in found and not (correcting and intent in {"reschedule", "cancel"}):
                return await self._start(intent, reading)
        if "book" in found and state.task not in {"book", "reschedule", "waitlist"}:
            return await self._start("book", reading)
        return None

    async def _start(self, intent: str, reading: Reading) -> list[Reply]:
        state = self.turn.state
        state.task = intent
        state.awaiting = None
        state.forget_search()
        if intent != "waitlist":
            state.pending_cancel = None
        return await self._continue(reading)

    async def _continue(self, reading: Reading) -> list[Reply]:
        task = self.turn.state.task
        if task == "book":
            return await booking.advance(self.turn, reading)
        if task == "waitlist":
            return await booking.advance_waitlist(self.turn, reading)
        if task in {"reschedule", "cancel", "lookup"}:
            return await existing.advance(self.turn, reading)
        return [self.turn.say("How can I help?", MENU)]

    async def _take(self, starts_at: datetime, provider_id: str | None = None) -> list[Reply]:
        state = self.turn.state
        offered = next((o for o in state.offered if o.starts_at == starts_at), None)
        if provider_id is None and offered is not None:
            provider_id = offered.provider_id
        if state.task == "reschedule":
            return await existing.move(self.turn, starts_at)
        return await booking.hold(self.turn, starts_at, provider_id)

    async def _answer_offer(self, reading: Reading) -> list[Reply] | None:
        """An answer to times on offer that picks none outright: several narrowed down, a bare yes or
        no, or nothing we could place (said once more, differently, then with a person on offer)."""
        turn, state = self.turn, self.turn.state
        offered = state.offered
        if len(reading.options) > 1 and offered and not (reading.services or reading.provider_id):
            pointed = {state.choices[i].starts_at for i in reading.options if i < len(state.choices)}
            narrowed = [o for o in offered if o.starts_at in pointed]
            asked = state.search.first_day if state.search.first_day == state.search.last_day else None
            on_asked_day = [o for o in narrowed if turn.local(o.starts_at).date() == asked]
            if reading.days is None and len(on_asked_day) == 1:
                # "2pm" after times around 2 PM on the day asked for (and nearby days): that day's.
                return await self._take(on_asked_day[0].starts_at, on_asked_day[0].provider_id)
            return [offering.present(turn, narrowed, "Which of these would you like?")]
        if reading.changes_search or not offered:
            return None
        timed = [c for c in state.choices if c.starts_at is not None]
        if reading.yes and len(timed) == 1:
            return await self._take(offered[0].starts_at, offered[0].provider_id)
        if reading.yes or reading.no:
            prompt = (
                "Which time would you like?" if reading.yes else "No problem. Would you like other times?"
            )
            return [offering.present(turn, offered, prompt)]
        if reading.understood:
            return None
        state.misses += 1
        turn.understood = False
        hint = (
            "Sorry, I didn't catch which time you'd like. Tap one, or say something like \"the second one\", "
            '"10:30", "Thursday afternoon" or "other days".'
        )
        reply = offering.present(turn, offered, hint)
        if state.misses >= 2:
            reply = turn.say(
                "I'm still not sure which time you mean. Pick one of these, or I can ask a person to help.",
                (*reply.quick_replies, TALK_TO_A_PERSON),
            )
        return [reply]

    async def _answer_yes_no(self, yes: bool) -> list[Reply]:
        turn, state = self.turn, self.turn.state
        awaiting = state.awaiting
        state.awaiting = None
        if awaiting == "confirm_booking":
            if yes:
                return await booking.confirm(turn)
            state.awaiting = "time"
            tz = turn.practice.timezone
            chips = tuple(
                QuickReply(when_label(o.starts_at, tz), f"slot:{o.starts_at.isoformat()}")
                for o in state.offered
            )
            return [
                turn.say(
                    "No problem. Pick another time, ask for another day, or tell me a new name, phone or"
                    " e-mail.",
                    (*chips, MORE_TIMES),
                )
            ]
        if awaiting == "confirm_move":
            if yes and state.moving_to is not None:
                return await existing.move(turn, state.moving_to)
            state.awaiting = "time"
            return [offering.present(turn, state.offered, "No problem. Which time would you like instead?")]
        if awaiting == "far_date":
            if yes:
                state.search.far_date_confirmed = True
                return await booking.offer_and_take(turn)
            state.search = Search(service_id=state.search.service_id)
            return [turn.say("Okay. Which day would suit you instead?", turn.day_chips())]
        return await existing.cancel_after_yes(turn, yes)

    def _small_talk(self, reading: Reading) -> list[Reply]:
        turn = self.turn
        if "greeting" in reading.intents:
            return [
                turn.say(
                    f"Hi! I'm the virtual receptionist for {turn.practice.name}. I can book, reschedule or "
                    "cancel an appointment, or tell you our opening hours. What can I do for you?",
                    MENU,
                )
            ]
        if "thanks" in reading.intents:
            return [turn.say("You're welcome! Is there anything else I can help with?", MENU)]
        if reading.name or reading.phone or reading.email:
            return [turn.say("Thanks! What would you like to do: book, reschedule or cancel?", MENU)]
        turn.understood = False
        return [
            turn.say(
                "Sorry, I didn't quite get that. I can book, reschedule or cancel an appointment, "
                "or tell you our opening hours.",
                MENU,
            )
        ]

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


def _is_chip(value: str) -> bool:
    return value.split(":", 1)[0] in CHIP_PREFIXES


def _chip_reading(value: str) -> Reading:
    """A tapped chip as a reading: the thing it stands for and nothing else."""
    kind, _, rest = value.partition(":")
    if kind == "service":
        return Reading(text=value, services=(rest,))
    if kind == "intent":
        return Reading(text=value, intents=(rest,))
    if kind == "ref":
        return Reading(text=value, reference=rest)
    return Reading(text=value)


def _pointed_at(reading: Reading, value: str, state: ConversationState) -> tuple[Reading, str]:
    """A typed answer that points at one of the quick replies on offer counts as tapping it; what
    else the message said (a name, a phone) is kept."""
    chosen = reading.chosen
    if chosen is None or chosen >= len(state.choices):
        return reading, value
    chip = state.choices[chosen].value
    if not _is_chip(chip):
        return reading, value
    tapped = _chip_reading(chip)
    return (
        replace(
            reading,
            intents=tapped.intents or reading.intents,
            services=tapped.services or reading.services,
            reference=tapped.reference or reading.reference,
        ),
        chip,
    )


def resolve_choice(text: str, state: ConversationState) -> str:
    """A chip's value from its label, or from its number ("2") as SMS and voice patients answer."""
    answer = text.strip()
    for choice in state.choices:
        if answer.lower() == choice.label.lower():
            return choice.value
    if answer.isascii() and answer.isdigit() and len(answer) <= 2 and 1 <= int(answer) <= len(state.choices):
        return state.choices[int(answer) - 1].value
    return answer
