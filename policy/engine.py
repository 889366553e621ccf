"""The default-deny policy engine: may this tool call run, here, now, for this person?

`evaluate(call, context)` allows a call only when the channel lists the tool and every rule
registered for the tool allows it. A tool with no registered rules, a rule that raises, or a fact a
rule needs but the context lacks all deny. The decision names the rule that decided, so the audit
log can say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from policy.confirmation import (
    booking_explicitly_confirmed,
    cancel_explicitly_confirmed,
    reschedule_explicitly_confirmed,
)
from policy.facts import (
    CHANNEL_ALLOWLIST,
    CHAT_TOOLS,
    MAX_SEARCH_DAYS,
    PHONE_CHANNELS,
    TRANSACTIONAL,
    WORKER_ACTIONS,
    BookingFacts,
    Decision,
    MissingFact,
    OutboundFacts,
    PendingCancel,
    PendingConfirmation,
    PolicyContext,
    Rule,
    Summary,
    Switches,
    ToolCall,
    allow,
    deny,
    need,
)
from policy.outbound import (
    outbound_cap,
    outbound_cooldown,
    outbound_not_opted_out,
    outbound_quiet_hours,
    outbound_reachable,
)
from policy.switches import clinic_switches

__all__ = [
    "CHAT_TOOLS",
    "MAX_SEARCH_DAYS",
    "PHONE_CHANNELS",
    "TRANSACTIONAL",
    "WORKER_ACTIONS",
    "BookingFacts",
    "Decision",
    "OutboundFacts",
    "PendingCancel",
    "PendingConfirmation",
    "PolicyContext",
    "Summary",
    "Switches",
    "ToolCall",
    "evaluate",
]


def identity_own_booking(call: ToolCall, ctx: PolicyContext) -> Decision:
    """A conversation sees or changes only the bookings of the person it is verified as."""
    rule = "identity.own_booking"
    # A text or a call is identified by its number; a call from a withheld number is not, and
    # proves itself as on the web (a reference with the contact on file).
    by_phone = ctx.channel in PHONE_CHANNELS and (ctx.channel != "voice" or ctx.channel_phone is not None)
    if call.name == "lookup_booking" and not call.args.get("reference"):
        # "My appointments": the backend scopes the answer to the verified identity itself.
        if by_phone:
            need(ctx.channel_phone, "channel_phone")
            return allow(rule, "bookings of the sender's phone number")
        need(ctx.verified_customer_id, "verified_customer_id")
        return allow(rule, "bookings of the verified customer")
    target: BookingFacts = need(ctx.target, "target booking")
    if by_phone:
        phone = need(ctx.channel_phone, "channel_phone")
        if target.phone == phone:
            return allow(rule, "the booking's phone matches the sender")
        return deny(rule, "the booking belongs to another phone number")
    if ctx.verified_customer_id is not None and ctx.verified_customer_id == target.customer_id:
        return allow(rule, "the conversation is verified as the booking's customer")
    presented = call.args.get("contact")
    reference = str(call.args.get("reference") or "").strip().upper()
    if presented and reference == target.reference and presented in {target.phone, target.email}:
        return allow(rule, "reference and contact on file match")
    return deny(rule, "not verified as this booking's customer")


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
            return deny(rule, "that time has already passed")
        return allow(rule)
    if _first_day(call, ctx) < ctx.today:
        return deny(rule, "that date has already passed")
    return allow(rule)


def search_window(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "dates.window_14_days"
    first, last = _first_day(call, ctx), _last_day(call, ctx)
    if last < first:
        return deny(rule, "the end date is before the start date")
    if (last - first).days + 1 > MAX_SEARCH_DAYS:
        return deny(rule, f"search at most {MAX_SEARCH_DAYS} days at a time")
    return allow(rule)


def far_dates_confirmed(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "dates.far_future_confirmation"
    limit = ctx.today + timedelta(days=need(ctx.far_date_confirm_days, "far_date_confirm_days"))
    if _last_day(call, ctx) <= limit:
        return allow(rule)
    if call.args.get("far_date_confirmed") is True:
        return allow(rule, "the patient confirmed the far date")
    return deny(rule, f"dates after {limit.isoformat()} need the patient's explicit confirmation")


def one_hold_per_conversation(call: ToolCall, ctx: PolicyContext) -> Decision:
    """At most one slot held per conversation: a new hold must replace the current one."""
    rule = "holds.one_per_conversation"
    if ctx.active_hold_id is None:
        return allow(rule)
    if call.args.get("replace_hold_id") == ctx.active_hold_id:
        return allow(rule, "replaces the conversation's current hold")
    return deny(rule, "this conversation already holds a slot; replace it or confirm it")


def hold_is_the_conversations(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "holds.own_hold"
    active = need(ctx.active_hold_id, "active_hold_id")
    if str(call.args.get("hold_id")) != active:
        return deny(rule, "that hold is not this conversation's current hold")
    return allow(rule)


def contact_known(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "contact.required"
    if not ctx.has_contact:
        return deny(rule, "a name and a phone number or e-mail are needed first")
    return allow(rule)


def always(call: ToolCall, ctx: PolicyContext) -> Decision:
    return allow("tool.read_only")


TOOL_RULES: Mapping[str, tuple[Rule, ...]] = {
    "list_services": (always,),
    "request_human": (always,),
    "check_availability": (no_past_dates, search_window, far_dates_confirmed),
    "hold_slot": (no_past_dates, far_dates_confirmed, one_hold_per_conversation),
    "release_hold": (hold_is_the_conversations,),
    "confirm_booking": (hold_is_the_conversations, contact_known, booking_explicitly_confirmed),
    "lookup_booking": (identity_own_booking,),
    "reschedule_booking": (
        identity_own_booking,
        no_past_dates,
        far_dates_confirmed,
        reschedule_explicitly_confirmed,
    ),
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
        return deny("channel.allowlist", f"unknown channel {ctx.channel!r}")
    if call.name not in allowed_tools:
        return deny("channel.allowlist", f"{call.name!r} is not allowed on the {ctx.channel} channel")
    if ctx.emergency and call.name in TRANSACTIONAL:
        return deny("triage.emergency", "no transactional tool runs in a turn flagged as an emergency")
    rules = TOOL_RULES.get(call.name)
    if not rules:
        return deny("default_deny", f"no rule allows {call.name!r}")
    for rule in (clinic_switches, *rules):
        try:
            decision = rule(call, ctx)
        except MissingFact as missing:
            return deny(_rule_id(rule), f"missing fact: {missing.fact}")
        except Exception as error:  # a broken rule must deny, never allow or crash the turn
            return deny(_rule_id(rule), f"rule failed: {type(error).__name__}")
        if not decision.allowed:
            return decision
    return allow(f"tool.{call.name}", "every rule allowed it")


def _rule_id(rule: Rule) -> str:
    return f"rule.{rule.__name__}"
