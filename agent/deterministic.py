"""The deterministic engine: a receptionist that needs no language model.

It reads intents, services, dates and contact details with `agent.language`, keeps track of what it
asked for in the conversation state, and offers quick replies for the likely answers. Every action
goes through the same tool executor (and so the same policy) as a language model's would.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent import language
from agent.executor import ToolExecutor, ToolOutcome, booking_card
from agent.language import Named, When
from agent.ports import BookingInfo, PracticeInfo, ServiceInfo, SlotInfo
from agent.replies import QuickReply, Reply, day_label, when_label
from agent.state import Choice, ConversationState, OfferedSlot, Search
from policy.engine import MAX_SEARCH_DAYS

MAX_TIME_CHIPS = 6
MAX_CHIPS_PER_DAY = 3
SPREAD_MINUTES = 30
MAX_LOOKUP_ATTEMPTS = 3

YES_NO = (QuickReply("Yes", "yes"), QuickReply("No", "no"))
CHIP_PREFIXES = frozenset({"slot", "service", "ref", "intent"})
MENU = (
    QuickReply("Book an appointment", "intent:book"),
    QuickReply("Reschedule", "intent:reschedule"),
    QuickReply("Cancel", "intent:cancel"),
    QuickReply("Opening hours", "intent:hours"),
    QuickReply("Talk to a person", "intent:human"),
)


class DeterministicPlanner:
    def __init__(self, tools: ToolExecutor, practice: PracticeInfo, now: datetime) -> None:
        self.tools = tools
        self.state: ConversationState = tools.state
        self.practice = practice
        self.now = now
        self.zone = ZoneInfo(practice.timezone)
        self.today = now.astimezone(self.zone).date()
        # A clock time the latest message asked for ("Tuesday at 10am"): held at once if it is free.
        self.exact_time: time | None = None
        self.bad_phone = False
        # False when the message matched nothing the engine knows (voice counts these as failures).
        self.understood = True

    async def respond(self, text: str) -> list[Reply]:
        state = self.state
        value = resolve_choice(text, state)
        is_chip = value.split(":", 1)[0] in CHIP_PREFIXES
        found = [] if is_chip else language.intents(value)
        if value.startswith("intent:"):
            found = [value.removeprefix("intent:")]
        if not is_chip:
            self._absorb_contact(value)
        if state.awaiting in {"confirm_booking", "cancel_confirm", "far_date"} and (
            language.is_yes(value) or language.is_no(value)
        ):
            return await self._answer_yes_no(language.is_yes(value))
        if value.startswith("slot:") and state.task in {"book", "reschedule"}:
            return await self._pick_slot(datetime.fromisoformat(value.removeprefix("slot:")))
        if value.startswith("ref:"):
            state.reference = value.removeprefix("ref:")
            return await self._continue_task(value)
        for intent in ("human", "hours", "cancel", "reschedule", "lookup", "waitlist"):
            if intent in found:
                return await self._start(intent, value)
        if "book" in found and state.task not in {"book", "reschedule", "waitlist"}:
            return await self._start("book", value)
        if value.startswith("service:") and state.task in {"book", "waitlist"}:
            return await self._continue_task(value)
        if value.startswith("service:") or (state.task is None and self._service_in(value)):
            return await self._start("book", value)
        if state.task is not None:
            return await self._continue_task(value)
        if "greeting" in found:
            return [
                self._say(
                    f"Hi! I'm the virtual receptionist for {self.practice.name}. I can book, reschedule or "
                    "cancel an appointment, or tell you our opening hours. What can I do for you?",
                    MENU,
                )
            ]
        if "thanks" in found:
            return [self._say("You're welcome! Is there anything else I can help with?", MENU)]
        self.understood = False
        return [
            self._say(
                "Sorry, I didn't quite get that. I can book, reschedule or cancel an appointment, "
                "or tell you our opening hours.",
                MENU,
            )
        ]

    # ---- starting and continuing tasks ----

    async def _start(self, intent: str, text: str) -> list[Reply]:
        state = self.state
        if intent == "hours":
            lines = "\n".join(self.practice.opening_hours) or "Please call the practice for our hours."
            return [self._say(f"Our opening hours ({self.practice.timezone}):\n{lines}", MENU)]
        if intent == "human":
            return await self._hand_to_human(text)
        state.task = intent
        state.awaiting = None
        if intent in {"book", "waitlist"}:
            state.forget_search()
        if intent != "waitlist":
            state.pending_cancel = None
        return await self._continue_task(text)

    async def _continue_task(self, text: str) -> list[Reply]:
        task = self.state.task
        if task in {"book", "waitlist"}:
            self._read_search(text)
            return await (self._advance_booking() if task == "book" else self._advance_waitlist())
        if task in {"reschedule", "cancel", "lookup"}:
            return await self._advance_existing(text)
        return [self._say("How can I help?", MENU)]

    # ---- new bookings ----

    def _service_in(self, text: str) -> str | None:
        if text.startswith("service:"):
            return text.removeprefix("service:")
        named = [Named(s.id, (s.name, *s.aliases)) for s in self.practice.services]
        return language.match_service(text, named)

    def _read_search(self, text: str) -> None:
        search = self.state.search
        service_id = self._service_in(text)
        if service_id:
            search.service_id = service_id
        when = language.parse_when(text, self.today)
        if when.first_day:
            search.first_day, search.last_day = when.first_day, when.last_day
            search.far_date_confirmed = False
        if when.part_of_day:
            search.part_of_day = when.part_of_day
        if when.after:
            search.after = when.after.strftime("%H:%M")
        if when.before:
            search.before = when.before.strftime("%H:%M")
        self.exact_time = when.exact_time

    async def _advance_booking(self) -> list[Reply]:
        state = self.state
        if state.hold is not None and state.hold.expires_at > self.now:
            return self._ask_details_or_confirm()
        if state.search.service_id is None:
            question = await self._ask_service("Which service would you like to book?")
            if question:
                return question
        if state.awaiting == "time" and self.exact_time is not None and state.search.first_day is None:
            offered = next(
                (o for o in state.offered if o.starts_at.astimezone(self.zone).time() == self.exact_time),
                None,
            )
            if offered is not None:
                return await self._pick_slot(offered.starts_at, offered.provider_id)
        return await self._offer_times()

    async def _ask_service(self, question: str) -> list[Reply]:
        """Ask which service, with chips; nothing to ask (and the service chosen) if there is only one."""
        outcome = await self.tools.call("list_services", {})
        services: list[ServiceInfo] = outcome.result or []
        if len(services) == 1:
            self.state.search.service_id = services[0].id
            return []
        self.state.awaiting = "service"
        return [self._say(question, tuple(QuickReply(s.name, f"service:{s.id}") for s in services[:8]))]

    async def _offer_times(self, lead_in: str = "") -> list[Reply]:
        """Search, then hold an exact time that is free or offer up to six chips."""
        state = self.state
        search = state.search
        first = search.first_day or self.today
        last = search.last_day or first + timedelta(days=MAX_SEARCH_DAYS - 1)
        if first < self.today:
            await self._check(first, last)  # the policy refuses and audits it; the patient hears it plainly
            search.first_day = search.last_day = None
            passed = day_label(_noon(first, self.zone), self.practice.timezone)
            return [self._say(f"{passed} has already passed. Which day would suit you?", self._day_chips())]
        last = min(last, first + timedelta(days=MAX_SEARCH_DAYS - 1))
        outcome = await self._check(first, last)
        if outcome.denied_by == "dates.far_future_confirmation":
            state.awaiting = "far_date"
            when = day_label(_noon(first, self.zone), self.practice.timezone)
            return [
                self._say(
                    f"Just to check: {when} is more than {self.practice.far_date_confirm_days} days away. "
                    "Shall I look for times then?",
                    YES_NO,
                )
            ]
        if not outcome.ok:
            return [self._trouble(outcome)]
        slots = [s for s in outcome.result if self._fits(s)]
        exact = self.exact_time
        if exact is not None and search.first_day is not None:
            match = next((s for s in slots if s.starts_at.astimezone(self.zone).time() == exact), None)
            if match is not None:
                return await self._pick_slot(match.starts_at, match.provider_id)
            lead_in += f"{exact.strftime('%-I:%M %p')} isn't available. "
        if not slots and search.first_day is not None and search.last_day == search.first_day:
            # Nothing that day: look at the days after it.
            search.first_day = search.last_day = None
            later = await self._check(first + timedelta(days=1), first + timedelta(days=MAX_SEARCH_DAYS))
            if later.ok:
                slots = [s for s in later.result if self._fits(s)]
                lead_in += (
                    f"There's nothing free on {day_label(_noon(first, self.zone), self.practice.timezone)}. "
                )
        if not slots:
            state.awaiting = "time"
            return [
                self._say(
                    f"{lead_in}I couldn't find a free time for that. Would you like to try other days, "
                    "or join the waiting list?",
                    (QuickReply("Join the waiting list", "intent:waitlist"), *self._day_chips()),
                )
            ]
        return [self._present_slots(slots, lead_in)]

    def _present_slots(self, slots: list[SlotInfo], lead_in: str) -> Reply:
        state = self.state
        shown = self._spread(slots)
        state.offered = [
            OfferedSlot(starts_at=s.starts_at, provider_id=s.provider_id, provider_name=s.provider_name)
            for s in shown
        ]
        state.awaiting = "time"
        tz = self.practice.timezone
        chips = tuple(
            QuickReply(when_label(s.starts_at, tz), f"slot:{s.starts_at.isoformat()}") for s in shown
        )
        service = self._service_name(state.search.service_id)
        verb = "move it to" if state.task == "reschedule" else f"book{f' your {service}' if service else ''}"
        return self._say(f"{lead_in}Here are the first free times I can {verb}. Which works for you?", chips)

    def _spread(self, slots: list[SlotInfo]) -> list[SlotInfo]:
        """Up to six distinct times, at least half an hour apart, at most three per day: a real choice."""
        chosen: list[SlotInfo] = []
        per_day: dict[date, int] = {}
        for slot in slots:
            day = slot.starts_at.astimezone(self.zone).date()
            too_close = any(
                abs(slot.starts_at - c.starts_at) < timedelta(minutes=SPREAD_MINUTES) for c in chosen
            )
            if too_close or per_day.get(day, 0) >= MAX_CHIPS_PER_DAY:
                continue
            chosen.append(slot)
            per_day[day] = per_day.get(day, 0) + 1
            if len(chosen) == MAX_TIME_CHIPS:
                break
        return chosen

    def _fits(self, slot: SlotInfo) -> bool:
        search = self.state.search
        when = When(
            part_of_day=search.part_of_day,
            after=time.fromisoformat(search.after) if search.after else None,
            before=time.fromisoformat(search.before) if search.before else None,
        )
        return language.within_part_of_day(slot.starts_at.astimezone(self.zone).time(), when)

    async def _check(self, first: date, last: date) -> ToolOutcome:
        search = self.state.search
        return await self.tools.call(
            "check_availability",
            {
                "service_id": search.service_id,
                "date_from": first.isoformat(),
                "date_to": last.isoformat(),
                "far_date_confirmed": search.far_date_confirmed,
            },
        )

    async def _pick_slot(self, starts_at: datetime, provider_id: str | None = None) -> list[Reply]:
        state = self.state
        offered = next((o for o in state.offered if o.starts_at == starts_at), None)
        if provider_id is None and offered is not None:
            provider_id = offered.provider_id
        if state.task == "reschedule":
            return await self._move_booking(starts_at)
        hold = state.hold if state.hold is not None and state.hold.expires_at > self.now else None
        outcome = await self.tools.call(
            "hold_slot",
            {
                "service_id": state.search.service_id,
                "starts_at": starts_at.isoformat(),
                "provider_id": provider_id,
                "replace_hold_id": hold.id if hold is not None else None,
                "far_date_confirmed": state.search.far_date_confirmed,
            },
        )
        if outcome.failure_code == "SLOT_TAKEN":
            return await self._offer_times("Sorry, that time was just taken. ")
        if not outcome.ok:
            return [self._trouble(outcome)]
        held = outcome.result
        return [
            self._say(
                f"I'm holding {when_label(held.starts_at, self.practice.timezone)} with {held.provider_name} "
                f"for {self.practice.hold_minutes} minutes."
            ),
            *self._ask_details_or_confirm(),
        ]

    def _ask_details_or_confirm(self) -> list[Reply]:
        state = self.state
        if not state.name:
            state.awaiting = "name"
            return [self._say("What name should I put the booking under?")]
        if not (state.phone or state.email):
            state.awaiting = "contact"
            if self.bad_phone:
                return [
                    self._say(
                        "That phone number doesn't look right. Please send it with the area code, or "
                        "an e-mail."
                    )
                ]
            return [
                self._say(
                    f"Thanks, {state.name.split()[0]}. What's the best phone number or e-mail for "
                    "your confirmation?"
                )
            ]
        hold = state.hold
        assert hold is not None
        state.awaiting = "confirm_booking"
        contact = state.phone or state.email
        return [
            self._say(
                f"Please confirm: {hold.service_name} on "
                f"{when_label(hold.starts_at, self.practice.timezone)} "
                f"with {hold.provider_name}, for {state.name} ({contact}). Shall I book it?",
                (QuickReply("Yes, book it", "yes"), QuickReply("No, change something", "no")),
            )
        ]

    async def _confirm_booking(self) -> list[Reply]:
        state = self.state
        hold = state.hold
        if hold is None or hold.expires_at <= self.now:
            state.hold = None
            return await self._offer_times("The time I was holding has been released. ")
        outcome = await self.tools.call(
            "confirm_booking",
            {"hold_id": hold.id, "name": state.name, "phone": state.phone, "email": state.email},
        )
        if outcome.failure_code in {"HOLD_EXPIRED", "SLOT_TAKEN", "CONFLICT", "NOT_FOUND"}:
            return await self._offer_times("Sorry, the time I was holding ran out. ")
        if not outcome.ok:
            return [self._trouble(outcome)]
        booking: BookingInfo = outcome.result
        state.task = state.awaiting = None
        state.forget_search()
        where = " and ".join(x for x in (state.phone, state.email) if x)
        return [
            self._say(
                f"You're booked! {booking.service_name} on "
                f"{when_label(booking.starts_at, self.practice.timezone)} "
                f"with {booking.provider_name}. Your reference is {booking.reference}; "
                f"we'll send the details to {where}.",
                card=booking_card(booking, self.practice.timezone),
            )
        ]

    def _absorb_contact(self, text: str) -> None:
        """Keep a name, phone or e-mail the patient mentions, whenever they mention it."""
        state = self.state
        if state.awaiting in {"lookup_contact", "reference"}:
            return  # proof of identity for a lookup, not details for a new booking
        email = language.find_email(text)
        if email:
            state.email = email
        phone = language.find_phone(text)
        if phone:
            normalized = self.tools.desk.normalize_contact(phone)
            if normalized is not None and normalized.startswith("+"):
                state.phone = normalized
            else:
                self.bad_phone = True
        name = language.find_name(text, expecting_name=state.awaiting == "name")
        if name:
            state.name = name

    # ---- yes / no answers ----

    async def _answer_yes_no(self, yes: bool) -> list[Reply]:
        state = self.state
        awaiting = state.awaiting
        state.awaiting = None
        if awaiting == "confirm_booking":
            if yes:
                return await self._confirm_booking()
            state.awaiting = "time"
            chips = tuple(
                QuickReply(when_label(o.starts_at, self.practice.timezone), f"slot:{o.starts_at.isoformat()}")
                for o in state.offered
            )
            return [
                self._say("No problem. Pick another time, or tell me a new name, phone or e-mail.", chips)
            ]
        if awaiting == "far_date":
            if yes:
                state.search.far_date_confirmed = True
                return await self._offer_times()
            state.search = Search(service_id=state.search.service_id)
            return [self._say("Okay. Which day would suit you instead?", self._day_chips())]
        # cancel_confirm
        pending = state.pending_cancel
        if not yes or pending is None:
            state.pending_cancel = None
            state.task = None
            return [self._say("Okay, I've kept your appointment as it is.", MENU)]
        outcome = await self.tools.call("cancel_booking", {"reference": pending.reference})
        if outcome.denied_by == "cancel.explicit_confirmation":
            state.awaiting = "cancel_confirm"
            return [
                self._say(
                    "To be safe I need a clear yes: shall I cancel it?",
                    (QuickReply("Yes, cancel it", "yes"), QuickReply("No, keep it", "no")),
                )
            ]
        if not outcome.ok:
            return [self._trouble(outcome)]
        state.task = None
        booking: BookingInfo = outcome.result
        return [
            self._say(
                f"Your {booking.service_name} on "
                f"{when_label(booking.starts_at, self.practice.timezone)} is cancelled "
                f"(reference {booking.reference}). Would you like to book another time?",
                (QuickReply("Book another time", "intent:book"),),
                card=booking_card(booking, self.practice.timezone),
            )
        ]

    # ---- existing bookings: look up, reschedule, cancel ----

    async def _advance_existing(self, text: str) -> list[Reply]:
        state = self.state
        reference = language.find_reference(text, expecting=state.awaiting == "reference")
        if reference:
            state.reference = reference
            if language.find_email(text) or language.find_phone(text.replace(reference, " ")):
                state.awaiting = "lookup_contact"
        booking = await self._target_booking(text)
        if isinstance(booking, list):
            return booking  # a question for the patient
        if state.task == "lookup":
            state.task = None
            return [
                self._say(
                    f"Your {booking.service_name} is on "
                    f"{when_label(booking.starts_at, self.practice.timezone)} "
                    f"with {booking.provider_name} (reference {booking.reference}).",
                    (QuickReply("Reschedule", "intent:reschedule"), QuickReply("Cancel", "intent:cancel")),
                    card=booking_card(booking, self.practice.timezone),
                )
            ]
        if state.task == "cancel":
            outcome = await self.tools.call("cancel_booking", {"reference": booking.reference})
            if outcome.denied_by == "cancel.explicit_confirmation":
                state.awaiting = "cancel_confirm"
                return [
                    self._say(
                        f"Cancel your {booking.service_name} on "
                        f"{when_label(booking.starts_at, self.practice.timezone)} with "
                        f"{booking.provider_name}? "
                        "Reply yes to cancel it.",
                        (QuickReply("Yes, cancel it", "yes"), QuickReply("No, keep it", "no")),
                    )
                ]
            return [self._trouble(outcome)]
        # reschedule
        state.search.service_id = booking.service_id
        self._read_search(text)
        if state.awaiting != "time" and not (state.search.first_day or state.search.part_of_day):
            # Nothing said about when: the first free times are the likeliest answer, and one step less.
            return await self._offer_times(
                f"Your {booking.service_name} is on {when_label(booking.starts_at, self.practice.timezone)}. "
            )
        return await self._offer_times()

    def _verified(self) -> bool:
        return self.state.verified_customer_id is not None or self.tools.facts.channel_phone is not None

    async def _target_booking(self, text: str) -> BookingInfo | list[Reply]:
        """The booking in question, or the question to ask to find it and prove it is theirs."""
        state = self.state
        if state.awaiting == "lookup_contact" and state.reference:
            contact = language.find_email(text) or language.find_phone(text.replace(state.reference, " "))
            if contact is None:
                return [self._say("Please send the phone number or e-mail you booked with.")]
            outcome = await self.tools.call(
                "lookup_booking", {"reference": state.reference, "contact": contact}
            )
            if outcome.ok and outcome.result:
                state.awaiting = None
                return outcome.result[0]
            state.reference = None
            if state.failed_lookups >= MAX_LOOKUP_ATTEMPTS:
                return await self._hand_to_human("could not verify a booking")
            state.awaiting = "reference"
            return [
                self._say(
                    "I couldn't find a booking with that reference and contact. "
                    "Please check the 6-character reference in your confirmation and send it again.",
                    (QuickReply("Talk to a person", "intent:human"),),
                )
            ]
        if state.reference:
            if self._verified():
                outcome = await self.tools.call("lookup_booking", {"reference": state.reference})
                if outcome.ok and outcome.result:
                    return outcome.result[0]
            state.awaiting = "lookup_contact"
            return [self._say(f"Thanks. What's the phone number or e-mail on booking {state.reference}?")]
        if self._verified():
            outcome = await self.tools.call("lookup_booking", {})
            bookings: list[BookingInfo] = outcome.result if outcome.ok else []
            if len(bookings) == 1:
                state.reference = bookings[0].reference
                return bookings[0]
            if bookings:
                state.awaiting = "which_booking"
                tz = self.practice.timezone
                return [
                    self._say(
                        "Which appointment do you mean?",
                        tuple(
                            QuickReply(
                                f"{b.service_name}, {when_label(b.starts_at, tz)}", f"ref:{b.reference}"
                            )
                            for b in bookings[:MAX_TIME_CHIPS]
                        ),
                    )
                ]
            if self.tools.facts.channel_phone is not None:
                state.task = None
                return [self._say("I can't find any upcoming appointments for this number.", MENU)]
        state.awaiting = "reference"
        return [
            self._say(
                "Sure. What's your booking reference? It's the 6-character code in your confirmation "
                "(like K7M2QX)."
            )
        ]

    async def _move_booking(self, starts_at: datetime) -> list[Reply]:
        state = self.state
        assert state.reference is not None
        outcome = await self.tools.call(
            "reschedule_booking",
            {
                "reference": state.reference,
                "starts_at": starts_at.isoformat(),
                "far_date_confirmed": state.search.far_date_confirmed,
            },
        )
        if outcome.failure_code == "SLOT_TAKEN":
            return await self._offer_times("Sorry, that time was just taken. ")
        if not outcome.ok:
            return [self._trouble(outcome)]
        booking: BookingInfo = outcome.result
        state.task = state.awaiting = None
        state.forget_search()
        return [
            self._say(
                f"Done! Your {booking.service_name} is now on "
                f"{when_label(booking.starts_at, self.practice.timezone)} with {booking.provider_name} "
                f"(reference {booking.reference}).",
                card=booking_card(booking, self.practice.timezone),
            )
        ]

    # ---- waiting list ----

    async def _advance_waitlist(self) -> list[Reply]:
        state = self.state
        search = state.search
        if search.service_id is None:
            question = await self._ask_service("Which service would you like to wait for?")
            if question:
                return question
        if not state.name:
            state.awaiting = "name"
            return [self._say("What name should I put on the waiting list?")]
        if not (state.phone or state.email):
            state.awaiting = "contact"
            return [self._say("What phone number or e-mail should we use when a time opens up?")]
        first = max(search.first_day or self.today, self.today)
        last = min(
            search.last_day or first + timedelta(days=MAX_SEARCH_DAYS - 1),
            first + timedelta(days=MAX_SEARCH_DAYS - 1),
        )
        outcome = await self.tools.call(
            "join_waitlist",
            {
                "service_id": search.service_id,
                "date_from": first.isoformat(),
                "date_to": last.isoformat(),
                "part_of_day": search.part_of_day,
                "name": state.name,
                "phone": state.phone,
                "email": state.email,
            },
        )
        if not outcome.ok:
            return [self._trouble(outcome)]
        state.task = state.awaiting = None
        entry = outcome.result
        return [
            self._say(
                f"You're on the waiting list for {entry.service_name} between {entry.first_day:%b} "
                f"{entry.first_day.day} and {entry.last_day:%b} {entry.last_day.day}. "
                "We'll contact you as soon as a time opens up."
            )
        ]

    # ---- people and problems ----

    async def _hand_to_human(self, reason: str) -> list[Reply]:
        outcome = await self.tools.call("request_human", {"reason": reason[:500]})
        self.state.task = self.state.awaiting = None
        call = f" You can also call us at {self.practice.staff_phone}." if self.practice.staff_phone else ""
        if not outcome.ok:
            return [self._say(f"I couldn't reach the team just now.{call}")]
        return [
            self._say(
                f"I've asked a member of the {self.practice.name} team to follow up with you here.{call}"
            )
        ]

    def _trouble(self, outcome: ToolOutcome) -> Reply:
        """A denial or failure explained plainly; never the raw rule or error."""
        rule = outcome.denied_by
        if rule == "triage.emergency":
            return self._say(
                "I can't make changes right now. If this is an emergency, call your local emergency number."
            )
        if rule == "dates.no_past":
            return self._say("That time has already passed. Which day would suit you?", self._day_chips())
        if rule == "dates.window_14_days":
            return self._say(
                "I can look at up to two weeks at a time. Which week would suit you?", self._day_chips()
            )
        if rule == "identity.own_booking":
            return self._say("I can only help with bookings made under your own details.")
        if rule == "holds.one_per_conversation":
            return self._say("You're already holding a time; let's finish that booking first.")
        if outcome.failure is not None and outcome.failure.code in {
            "SLOT_UNAVAILABLE",
            "VALIDATION_FAILED",
            "CONFLICT",
        }:
            return self._say(f"Sorry, I can't do that: {outcome.failure.message}.")
        return self._say(
            "Sorry, something went wrong on my side. Please try again, or ask to talk to a person.",
            (QuickReply("Talk to a person", "intent:human"),),
        )

    def _day_chips(self) -> tuple[QuickReply, ...]:
        days = [self.today + timedelta(days=n) for n in range(1, 4)]
        return (
            QuickReply("Tomorrow", "tomorrow"),
            *(QuickReply(f"{d:%A}", f"{d:%A}".lower()) for d in days[1:]),
            QuickReply("Next week", "next week"),
        )

    def _service_name(self, service_id: str | None) -> str | None:
        return next((s.name for s in self.practice.services if s.id == service_id), None)

    def _say(
        self, text: str, chips: tuple[QuickReply, ...] = (), card: dict[str, object] | None = None
    ) -> Reply:
        self.state.choices = [Choice(label=c.label, value=c.value) for c in chips]
        return Reply(text=text, quick_replies=chips, card=card)


def _noon(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(12), tzinfo=zone)


def resolve_choice(text: str, state: ConversationState) -> str:
    """A chip's value from its label, or from its number ("2") as SMS and voice patients answer."""
    answer = text.strip()
    for choice in state.choices:
        if answer.lower() == choice.label.lower():
            return choice.value
    if answer.isdigit() and 1 <= int(answer) <= len(state.choices):
        return state.choices[int(answer) - 1].value
    return answer
