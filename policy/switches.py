"""The switches each clinic controls: which channels its receptionist answers on, whether a language
model reads messages, whether patients may join the waiting list or cancel and move bookings by
themselves, and whether automated messages are paused.

A switch is a fact of the decision like any other: a call it governs is allowed only while the
switch is on, and a context without the clinic's switches denies (default deny). Every refusal
names the switch's rule (`switches.<name>`), so the audit log says which switch stopped what.
"""

from __future__ import annotations

from collections.abc import Mapping

from policy.facts import Decision, PolicyContext, Switches, ToolCall, allow, deny, need

__all__ = ["Switches", "channel_decision", "clinic_switches", "language_model_decision", "tool_switched_on"]


# The conversation channel each switch opens: a patient's message there gets an automated answer.
CHANNEL_SWITCHES: Mapping[str, str] = {"web": "web_chat", "sms": "sms", "voice": "voice"}
# The tool each switch governs.
TOOL_SWITCHES: Mapping[str, str] = {
    "cancel_booking": "self_cancel",
    "reschedule_booking": "self_reschedule",
    "join_waitlist": "waitlist",
    "offer_waitlist_slot": "waitlist",
}
# Messages the worker starts on its own (no patient just asked for them): paused by the clinic.
AUTOMATED_ACTIONS = frozenset({"send_reminder", "send_follow_up", "send_review_request", "mark_no_show"})


def switch_rule(name: str) -> str:
    return f"switches.{name}"


def _on(switches: Switches, name: str) -> Decision:
    if getattr(switches, name):
        return allow(switch_rule(name))
    return deny(switch_rule(name), f"the clinic has switched off {name.replace('_', ' ')}")


def channel_decision(channel: str, switches: Switches) -> Decision:
    """May the receptionist answer a patient on this channel at all?"""
    name = CHANNEL_SWITCHES.get(channel)
    if name is None:
        return deny("switches.channel", f"unknown channel {channel!r}")
    return _on(switches, name)


def language_model_decision(switches: Switches) -> Decision:
    """May a language model read this clinic's messages? Off: the rules read them."""
    return _on(switches, "language_model")


def tool_switched_on(name: str, switches: Switches) -> bool:
    """Whether the clinic lets patients do this (what the receptionist offers follows it)."""
    switch = TOOL_SWITCHES.get(name)
    return switch is None or bool(getattr(switches, switch))


def clinic_switches(call: ToolCall, ctx: PolicyContext) -> Decision:
    """Every call passes the clinic's switches: its channel's, its tool's, and the pause."""
    switches: Switches = need(ctx.switches, "switches")
    checks: list[Decision] = []
    if ctx.channel in CHANNEL_SWITCHES:
        checks.append(channel_decision(ctx.channel, switches))
    elif call.args.get("channel") == "sms":  # an automated text: the clinic's texting switch
        checks.append(_on(switches, "sms"))
    if call.name in TOOL_SWITCHES:
        checks.append(_on(switches, TOOL_SWITCHES[call.name]))
    if call.name in AUTOMATED_ACTIONS and switches.automated_paused:
        checks.append(deny(switch_rule("automated_paused"), "the clinic has paused automated messages"))
    return next((check for check in checks if not check.allowed), allow("switches.on"))
