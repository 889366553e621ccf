"""The default-deny policy engine: may this tool call run, here, now, for this person?

`evaluate(call, context)` allows a call only when the channel lists the tool and every rule
registered for the tool allows it. A tool with no registered rules, a rule that raises, or a fact a
rule needs but the context lacks all deny. The decision names the rule that decided, so the audit
log can say why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from policy.confirmation import is_explicit_yes
from policy.quiet_hours import quiet_until

CHAT_TOOLS = frozenset(
    {
        "list_services",
        "check_availability",
        "hold_slot",
        "confirm_booking",
        "lookup_booking",
        "reschedule_booking",
        "cancel_booking",
        "join_waitlist",
        "request_human",
    }
)
WORKER_ACTIONS = frozenset(
    {
        "send_confirmation",
        "send_reminder",
        "send_follow_up",
        "offer_waitlist_slot",
        "send_review_request",
        "mark_no_show",
    }
)
# Tools that change something; none of them runs in a turn that triage flagged as an emergency.
TRANSACTIONAL = frozenset(
    {"hold_slot", "confirm_booking", "reschedule_booking", "cancel_booking", "join_waitlist"}
)
CHANNEL_ALLOWLIST: Mapping[str, frozenset[str]] = {
    "web": CHAT_TOOLS,
    "sms": CHAT_TOOLS,
    "voice": CHAT_TOOLS,
    "worker": WORKER_ACTIONS,
}
# Channels where the sender's phone number is the identity (Twilio vouches for it).
PHONE_CHANNELS = frozenset({"sms", "voice"})
MAX_SEARCH_DAYS = 14


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str


@dataclass(frozen=True)
class BookingFacts:
    """The booking a call is about, as stored: whose it is and how to reach them."""

    reference: str
    customer_id: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class PendingCancel:
    reference: str
    asked_in_turn: int


@dataclass(frozen=True)
class OutboundFacts:
    """What an autonomous message needs known about its recipient on one channel (sms | email)."""

    channel: str
    has_address: bool
    consented: bool
    opted_out: bool
    recipient_timezone: str
    quiet_start: time
    quiet_end: time
    # Messages of the same kind to this recipient: how many in the cap window, and the latest.
    sent_in_window: int = 0
    cap: int | None = None
    last_sent_at: datetime | None = None
    cooldown: timedelta | None = None


@dataclass(frozen=True)
class PolicyContext:
    channel: str
    now: datetime
    timezone: str
    turn: int
    user_text: str = ""
    emergency: bool = False
    far_date_confirm_days: int | None = None
    active_hold_id: str | None = None
    verified_customer_id: str | None = None
    # SMS and voice: the sender's number in E.164, as Twilio reported it.
    channel_phone: str | None = None
    target: BookingFacts | None = None
    pending_cancel: PendingCancel | None = None
    has_contact: bool = False
    outbound: OutboundFacts | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()


class MissingFact(Exception):
    def __init__(self, fact: str) -> None:
        super().__init__(fact)
        self.fact = fact


def need(value: Any, fact: str) -> Any:
    if value is None:
        raise MissingFact(fact)
    return value


Rule = Callable[[ToolCall, PolicyContext], Decision]


def _allow(rule: str, reason: str = "allowed") -> Decision:
    return Decision(True, rule, reason)


def _deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


# ---- rules ----


def identity_own_booking(call: ToolCall, ctx: PolicyContext) -> Decision:
    """A conversation sees or changes only the bookings of the person it is verified as."""
    rule = "identity.own_booking"
    if call.name == "lookup_booking" and not call.args.get("reference"):
        # "My appointments": the backend scopes the answer to the verified identity itself.
        if ctx.channel in PHONE_CHANNELS:
            need(ctx.channel_phone, "channel_phone")
            return _allow(rule, "bookings of the sender's phone number")
        need(ctx.verified_customer_id, "verified_customer_id")
        return _allow(rule, "bookings of the verified customer")
    target: BookingFacts = need(ctx.target, "target booking")
    if ctx.channel in PHONE_CHANNELS:
        phone = need(ctx.channel_phone, "channel_phone")
        if target.phone == phone:
            return _allow(rule, "the booking's phone matches the sender")
        return _deny(rule, "the booking belongs to another phone number")
    if ctx.verified_customer_id is not None and ctx.verified_customer_id == target.customer_id:
        return _allow(rule, "the conversation is verified as the booking's customer")
    presented = call.args.get("contact")
    reference = str(call.args.get("reference") or "").strip().upper()
    if presented and reference == target.reference and presented in {target.phone, target.email}:
        return _allow(rule, "reference and contact on file match")
    return _deny(rule, "not verified as this booking's customer")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)


def _instant(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("a time without a timezone")
    return moment


def _first_day(call: ToolCall, ctx: PolicyContext) -> date:
    if "starts_at" in call.args:
        return _instant(call.args["starts_at"]).astimezone(ZoneInfo(ctx.timezone)).date()
    return _day(need(call.args.get("date_from"), "date_from"))


def _last_day(call: ToolCall, ctx: PolicyContext) -> date:
    if "starts_at" in call.args:
        return _first_day(call, ctx)
    return _day(call.args.get("date_to") or call.args["date_from"])


def no_past_dates(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "dates.no_past"
    if "starts_at" in call.args:
        if _instant(call.args["starts_at"]) <= ctx.now:
            return _deny(rule, "that time has already passed")
        return _allow(rule)
    if _first_day(call, ctx) < ctx.today:
        return _deny(rule, "that date has already passed")
    return _allow(rule)


def search_window(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "dates.window_14_days"
    first, last = _first_day(call, ctx), _last_day(call, ctx)
    if last < first:
        return _deny(rule, "the end date is before the start date")
    if (last - first).days + 1 > MAX_SEARCH_DAYS:
        return _deny(rule, f"search at most {MAX_SEARCH_DAYS} days at a time")
    return _allow(rule)


def far_dates_confirmed(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "dates.far_future_confirmation"
    limit = ctx.today + timedelta(days=need(ctx.far_date_confirm_days, "far_date_confirm_days"))
    if _last_day(call, ctx) <= limit:
        return _allow(rule)
    if call.args.get("far_date_confirmed") is True:
        return _allow(rule, "the patient confirmed the far date")
    return _deny(rule, f"dates after {limit.isoformat()} need the patient's explicit confirmation")


def one_hold_per_conversation(call: ToolCall, ctx: PolicyContext) -> Decision:
    """At most one slot held per conversation: a new hold must replace the current one."""
    rule = "holds.one_per_conversation"
    if ctx.active_hold_id is None:
        return _allow(rule)
    if call.args.get("replace_hold_id") == ctx.active_hold_id:
        return _allow(rule, "replaces the conversation's current hold")
    return _deny(rule, "this conversation already holds a slot; replace it or confirm it")


def hold_is_the_conversations(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "holds.own_hold"
    active = need(ctx.active_hold_id, "active_hold_id")
    if str(call.args.get("hold_id")) != active:
        return _deny(rule, "that hold is not this conversation's current hold")
    return _allow(rule)


def contact_known(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "contact.required"
    if not ctx.has_contact:
        return _deny(rule, "a name and a phone number or e-mail are needed first")
    return _allow(rule)


def cancel_explicitly_confirmed(call: ToolCall, ctx: PolicyContext) -> Decision:
    """Cancelling needs a plain "yes" from the patient, in a turn after they were asked."""
    rule = "cancel.explicit_confirmation"
    pending: PendingCancel | None = ctx.pending_cancel
    reference = str(call.args.get("reference") or "").strip().upper()
    if pending is None or pending.reference != reference:
        return _deny(rule, "ask the patient to confirm the cancellation first")
    if pending.asked_in_turn >= ctx.turn:
        return _deny(rule, "the confirmation must come in a later message than the question")
    if not is_explicit_yes(ctx.user_text):
        return _deny(rule, "the patient has not said yes to cancelling")
    return _allow(rule, "the patient said yes")


def outbound_reachable(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.contact"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    if not facts.has_address:
        return _deny(rule, f"no {facts.channel} address on file")
    if not facts.consented:
        return _deny(rule, f"the patient has not agreed to {facts.channel} messages")
    return _allow(rule)


def outbound_not_opted_out(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.opt_out"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    if facts.channel == "sms" and facts.opted_out:
        return _deny(rule, "the number has opted out of texts (STOP)")
    return _allow(rule)


def outbound_quiet_hours(call: ToolCall, ctx: PolicyContext) -> Decision:
    """Texts that start a clock (an offer held for minutes) are not sent at night, but deferred."""
    rule = "outbound.quiet_hours"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    if facts.channel != "sms":
        return _allow(rule, "e-mail does not wake anyone")
    until = quiet_until(ctx.now, facts.recipient_timezone, facts.quiet_start, facts.quiet_end)
    if until is not None:
        return _deny(rule, f"quiet hours in {facts.recipient_timezone} until {until.isoformat()}")
    return _allow(rule)


def outbound_cap(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.cap"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    cap = need(facts.cap, "cap")
    if facts.sent_in_window >= cap:
        return _deny(rule, f"already {facts.sent_in_window} such messages to this recipient (cap {cap})")
    return _allow(rule)


def outbound_cooldown(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.cooldown"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    cooldown = need(facts.cooldown, "cooldown")
    if facts.last_sent_at is not None and facts.last_sent_at + cooldown > ctx.now:
        return _deny(rule, f"the last one went less than {cooldown} ago")
    return _allow(rule)


def always(call: ToolCall, ctx: PolicyContext) -> Decision:
    return _allow("tool.read_only")


TOOL_RULES: Mapping[str, tuple[Rule, ...]] = {
    "list_services": (always,),
    "request_human": (always,),
    "check_availability": (no_past_dates, search_window, far_dates_confirmed),
    "hold_slot": (no_past_dates, far_dates_confirmed, one_hold_per_conversation),
    "confirm_booking": (hold_is_the_conversations, contact_known),
    "lookup_booking": (identity_own_booking,),
    "reschedule_booking": (identity_own_booking, no_past_dates, far_dates_confirmed),
    "cancel_booking": (identity_own_booking, cancel_explicitly_confirmed),
    "join_waitlist": (no_past_dates, search_window, contact_known),
    "send_confirmation": (outbound_reachable, outbound_not_opted_out),
    "send_reminder": (outbound_reachable, outbound_not_opted_out),
    "send_follow_up": (outbound_reachable, outbound_not_opted_out, outbound_cooldown, outbound_cap),
    "offer_waitlist_slot": (outbound_reachable, outbound_not_opted_out, outbound_quiet_hours),
    "send_review_request": (outbound_reachable, outbound_not_opted_out, outbound_cap),
    "mark_no_show": (outbound_reachable, outbound_not_opted_out),
}


def evaluate(call: ToolCall, ctx: PolicyContext) -> Decision:
    allowed_tools = CHANNEL_ALLOWLIST.get(ctx.channel)
    if allowed_tools is None:
        return _deny("channel.allowlist", f"unknown channel {ctx.channel!r}")
    if call.name not in allowed_tools:
        return _deny("channel.allowlist", f"{call.name!r} is not allowed on the {ctx.channel} channel")
    if ctx.emergency and call.name in TRANSACTIONAL:
        return _deny("triage.emergency", "no transactional tool runs in a turn flagged as an emergency")
    rules = TOOL_RULES.get(call.name)
    if not rules:
        return _deny("default_deny", f"no rule allows {call.name!r}")
    for rule in rules:
        try:
            decision = rule(call, ctx)
        except MissingFact as missing:
            return _deny(_rule_id(rule), f"missing fact: {missing.fact}")
        except Exception as error:  # a broken rule must deny, never allow or crash the turn
            return _deny(_rule_id(rule), f"rule failed: {type(error).__name__}")
        if not decision.allowed:
            return decision
    return _allow(f"tool.{call.name}", "every rule allowed it")


def _rule_id(rule: Rule) -> str:
    return f"rule.{rule.__name__}"
