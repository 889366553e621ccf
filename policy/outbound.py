"""Rules for messages the worker sends on its own: reachable and consented, not opted out, not at
night when the message starts a clock, within caps and cooldowns."""

from __future__ import annotations

from policy.facts import Decision, OutboundFacts, PolicyContext, ToolCall, allow, deny, need
from policy.quiet_hours import quiet_until


def outbound_reachable(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.contact"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    if not facts.has_address:
        return deny(rule, f"no {facts.channel} address on file")
    if not facts.consented:
        return deny(rule, f"the patient has not agreed to {facts.channel} messages")
    return allow(rule)


def outbound_not_opted_out(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.opt_out"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    if facts.channel == "sms" and facts.opted_out:
        return deny(rule, "the number has opted out of texts (STOP)")
    return allow(rule)


def outbound_quiet_hours(call: ToolCall, ctx: PolicyContext) -> Decision:
    """Texts that start a clock (an offer held for minutes) are not sent at night, but deferred."""
    rule = "outbound.quiet_hours"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    if facts.channel != "sms":
        return allow(rule, "e-mail does not wake anyone")
    until = quiet_until(ctx.now, facts.recipient_timezone, facts.quiet_start, facts.quiet_end)
    if until is not None:
        return deny(rule, f"quiet hours in {facts.recipient_timezone} until {until.isoformat()}")
    return allow(rule)


def outbound_cap(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.cap"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    cap = need(facts.cap, "cap")
    if facts.sent_in_window >= cap:
        return deny(rule, f"already {facts.sent_in_window} such messages to this recipient (cap {cap})")
    return allow(rule)


def outbound_cooldown(call: ToolCall, ctx: PolicyContext) -> Decision:
    rule = "outbound.cooldown"
    facts: OutboundFacts = need(ctx.outbound, "outbound facts")
    cooldown = need(facts.cooldown, "cooldown")
    if facts.last_sent_at is not None and facts.last_sent_at + cooldown > ctx.now:
        return deny(rule, f"the last one went less than {cooldown} ago")
    return allow(rule)
