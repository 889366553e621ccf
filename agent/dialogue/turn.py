"""What every step of a deterministic turn shares: the tools, the conversation's state, the practice
and its clock, and how a reply is said (its quick replies become the choices the next message may
answer, in words or by number)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.dialogue.calendar import Calendar
from agent.executor import ToolExecutor, ToolOutcome
from agent.replies import QuickReply, Reply, day_label
from agent.state import Asked, Choice, ConversationState
from agent.understanding import Context, Named, Offered, Person
from policy.replies import widget_greeting
from policy.switches import TOOL_SWITCHES, Switches, switch_rule, tool_switched_on

YES_NO = (QuickReply("Yes", "yes"), QuickReply("No", "no"))
MORE_TIMES = QuickReply("More times", "more times")
TALK_TO_A_PERSON = QuickReply("Talk to a person", "intent:human")
MENU = (
    QuickReply("Book an appointment", "intent:book"),
    QuickReply("Reschedule", "intent:reschedule"),
    QuickReply("Cancel", "intent:cancel"),
    QuickReply("Opening hours", "intent:hours"),
    TALK_TO_A_PERSON,
)
# What a patient's request leads to, as a tool: not offered (and not started) when the clinic has
# switched the tool off.
INTENT_TOOLS = {"cancel": "cancel_booking", "reschedule": "reschedule_booking", "waitlist": "join_waitlist"}
# What the patient is told to do instead, by phone, for a change the clinic makes itself.
BY_PHONE = {"cancel_booking": "cancel", "reschedule_booking": "move an appointment"}
SWITCH_RULES = {switch_rule(TOOL_SWITCHES[tool]): tool for tool in INTENT_TOOLS.values()}


class Turn:
    def __init__(self, tools: ToolExecutor, now: datetime) -> None:
        self.tools = tools
        self.state: ConversationState = tools.state
        self.practice = tools.practice
        self.now = now
        self.zone = ZoneInfo(self.practice.timezone)
        self.today = now.astimezone(self.zone).date()
        self.calendar = Calendar(self.practice)
        self.bad_phone = False
        # False when the message matched nothing the engine knows (voice counts these as failures).
        self.understood = True

    def context(self) -> Context:
        """What the reader may know besides the words of this message."""
        state, practice = self.state, self.practice
        return Context(
            today=self.today,
            services=tuple(Named(s.id, (s.name, *s.aliases), s.description) for s in practice.services),
            providers=tuple(Person(p.id, p.name) for p in practice.providers),
            offered=tuple(
                Offered(c.label, c.starts_at.astimezone(self.zone) if c.starts_at else None)
                for c in state.choices
            ),
            expecting=_expecting(state.awaiting),
            profile=practice.profile,
            faq_ids=tuple(e.id for e in practice.faq),
        )

    def say(
        self,
        text: str,
        chips: tuple[QuickReply, ...] = (),
        card: dict[str, object] | None = None,
        times: tuple[datetime | None, ...] = (),
        remember: bool = True,
    ) -> Reply:
        """A reply; `times` are the moments the chips stand for where they are not slots (bookings).
        A reply that asks something (the state awaits an answer) is kept, to come back to after a
        question off the path. A chip for something the clinic has switched off is not offered: a
        sentence says how to do it instead."""
        offered, instead = on_offer(chips, self.practice.switches, self.practice.staff_phone)
        if instead:
            text = " ".join((text, *instead))
            times = tuple(t for c, t in zip(chips, times, strict=False) if c in offered)
            chips = offered
        self.state.choices = [
            Choice(
                label=c.label,
                value=c.value,
                starts_at=_slot_time(c.value) or (times[i] if i < len(times) else None),
            )
            for i, c in enumerate(chips)
        ]
        if remember and self.state.awaiting is not None:
            self.state.asked = Asked(text=text, choices=list(self.state.choices))
        return Reply(text=text, quick_replies=chips, card=card)

    def switched_off(self, tool: str) -> Reply:
        """The answer to a request for something the clinic has switched off; nothing is pending."""
        state = self.state
        state.task = state.awaiting = state.pending_cancel = None
        state.moving_from = state.moving_to = None
        if tool == "join_waitlist":
            return self.say(
                "Sorry, we don't keep a waiting list. Would another day suit you?", self.day_chips()
            )
        return self.say(" ".join(by_phone([tool], self.practice.staff_phone)), (TALK_TO_A_PERSON,))

    def drop_task(self) -> None:
        state = self.state
        state.task = state.awaiting = state.pending_cancel = None
        state.moving_from = state.moving_to = None

    def ask_again(self) -> Reply | None:
        """The question on the table, said again (its choices on offer again), or None."""
        asked = self.state.asked
        if asked is None or self.state.awaiting is None:
            return None
        self.state.choices = list(asked.choices)
        chips = tuple(QuickReply(c.label, c.value) for c in asked.choices)
        return Reply(text=asked.text, quick_replies=chips)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def noon(self, day: date) -> datetime:
        return datetime.combine(day, time(12), tzinfo=self.zone)

    def day_name(self, day: date) -> str:
        return day_label(self.noon(day), self.practice.timezone)

    def service_name(self, service_id: str | None) -> str | None:
        return next((s.name for s in self.practice.services if s.id == service_id), None)

    def provider_name(self, provider_id: str | None) -> str | None:
        return next((p.name for p in self.practice.providers if p.id == provider_id), None)

    def day_chips(self) -> tuple[QuickReply, ...]:
        """The next few open days, then next week: never a day the practice is closed."""
        tomorrow = self.today + timedelta(days=1)
        days = [
            d for d in (self.today + timedelta(days=n) for n in range(1, 8)) if not self.calendar.closed(d)
        ]
        return (
            *(
                QuickReply("Tomorrow", "tomorrow")
                if d == tomorrow
                else QuickReply(f"{d:%A}", f"{d:%A}".lower())
                for d in days[:3]
            ),
            QuickReply("Next week", "next week"),
        )

    def trouble(self, outcome: ToolOutcome) -> Reply:
        """A denial or failure explained plainly; never the raw rule or error."""
        rule = outcome.denied_by
        if rule == "triage.emergency":
            return self.say(
                "I can't make changes right now. If this is an emergency, call your local emergency number."
            )
        if rule == "dates.no_past":
            return self.say("That time has already passed. Which day would suit you?", self.day_chips())
        if rule == "dates.window_14_days":
            return self.say(
                "I can look at up to two weeks at a time. Which week would suit you?", self.day_chips()
            )
        if rule in SWITCH_RULES:
            return self.switched_off(SWITCH_RULES[rule])
        if rule == "identity.own_booking":
            return self.say("I can only help with bookings made under your own details.")
        if rule == "holds.one_per_conversation":
            return self.say("You're already holding a time; let's finish that booking first.")
        if outcome.failure is not None and outcome.failure.code == "PASSED_TO_STAFF":
            # The clinic's staff make this change themselves: the request is with them, nothing is pending.
            self.drop_task()
            return self.say(outcome.failure.message)
        if outcome.failure is not None and outcome.failure.code in {
            "SLOT_UNAVAILABLE",
            "VALIDATION_FAILED",
            "CONFLICT",
        }:
            return self.say(f"Sorry, I can't do that: {outcome.failure.message}.")
        return self.say(
            "Sorry, something went wrong on my side. Please try again, or ask to talk to a person.",
            (TALK_TO_A_PERSON,),
        )


def _expecting(awaiting: str | None) -> str | None:
    if awaiting in {"reference", "lookup_contact"}:
        return "reference" if awaiting == "reference" else "contact"
    return awaiting


def on_offer(
    chips: tuple[QuickReply, ...], switches: Switches, staff_phone: str | None
) -> tuple[tuple[QuickReply, ...], list[str]]:
    """The chips the clinic's switches let through, and the sentences said instead of the others."""
    offered = tuple(c for c in chips if tool_switched_on(INTENT_TOOLS.get(_intent(c.value), ""), switches))
    withheld = [INTENT_TOOLS[_intent(c.value)] for c in chips if c not in offered]
    return offered, by_phone(withheld, staff_phone)


def menu_for(switches: Switches) -> tuple[QuickReply, ...]:
    """The main menu, without what the clinic has switched off."""
    return on_offer(MENU, switches, None)[0]


def welcome(switches: Switches, staff_phone: str | None) -> Reply:
    """What a new web chat offers before the patient says anything: the menu, as switched."""
    offered, instead = on_offer(MENU[:-1], switches, staff_phone)
    return Reply(" ".join((widget_greeting(switches), *instead)), offered)


def by_phone(tools: list[str], staff_phone: str | None) -> list[str]:
    """ "To cancel, please call the clinic at …": for changes the clinic makes itself."""
    doings = [BY_PHONE[tool] for tool in dict.fromkeys(tools) if tool in BY_PHONE]
    if not doings:
        return []
    what = doings[0] if len(doings) == 1 else "cancel or move an appointment"
    how = f"please call the clinic at {staff_phone}" if staff_phone else "please contact the clinic directly"
    return [f"To {what}, {how}."]


def _intent(value: str) -> str:
    return value.removeprefix("intent:") if value.startswith("intent:") else ""


def _slot_time(value: str) -> datetime | None:
    return datetime.fromisoformat(value.removeprefix("slot:")) if value.startswith("slot:") else None
