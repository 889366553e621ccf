"""The clinic's switches as policy rules: each one refuses what it governs, by its own rule, and
nothing else; a context without the switches denies."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policy.engine import OutboundFacts, PolicyContext, Switches, ToolCall, evaluate
from policy.switches import channel_decision, language_model_decision, tool_switched_on

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
ALL_ON = Switches()
REACHABLE = OutboundFacts(
    channel="sms",
    has_address=True,
    consented=True,
    opted_out=False,
    recipient_timezone="America/New_York",
    quiet_start=datetime(2026, 1, 1, 21).time(),
    quiet_end=datetime(2026, 1, 1, 8).time(),
    sent_in_window=0,
    cap=5,
    cooldown=timedelta(0),
)


def chat(channel: str = "web", switches: Switches | None = ALL_ON) -> PolicyContext:
    return PolicyContext(channel=channel, now=NOW, timezone="America/New_York", turn=1, switches=switches)


def worker(switches: Switches, facts: OutboundFacts = REACHABLE) -> PolicyContext:
    return PolicyContext(
        channel="worker", now=NOW, timezone="America/New_York", turn=0, outbound=facts, switches=switches
    )


@pytest.mark.parametrize(("channel", "switch"), [("web", "web_chat"), ("sms", "sms"), ("voice", "voice")])
def test_a_channel_switched_off_refuses_every_tool_there_and_only_there(channel: str, switch: str) -> None:
    off = replace(ALL_ON, **{switch: False})
    decision = evaluate(ToolCall("list_services", {}), chat(channel, off))
    assert (decision.allowed, decision.rule) == (False, f"switches.{switch}")
    assert not channel_decision(channel, off).allowed
    other = next(c for c in ("web", "sms", "voice") if c != channel)
    assert evaluate(ToolCall("list_services", {}), chat(other, off)).allowed
    assert channel_decision(channel, ALL_ON).allowed


@pytest.mark.parametrize(
    ("tool", "args", "switch"),
    [
        ("cancel_booking", {"reference": "K7M2QX"}, "self_cancel"),
        (
            "reschedule_booking",
            {"reference": "K7M2QX", "starts_at": "2026-12-03T15:00:00+00:00"},
            "self_reschedule",
        ),
        ("join_waitlist", {"date_from": "2026-12-02"}, "waitlist"),
    ],
)
def test_a_patient_tool_switched_off_is_refused_by_its_switch(tool: str, args: dict, switch: str) -> None:
    off = replace(ALL_ON, **{switch: False})
    decision = evaluate(ToolCall(tool, args), chat("web", off))
    assert (decision.allowed, decision.rule) == (False, f"switches.{switch}")
    assert not tool_switched_on(tool, off)
    assert tool_switched_on(tool, ALL_ON)
    # Switched on, the same call goes on to the tool's own rules (which decide on other grounds).
    assert evaluate(ToolCall(tool, args), chat("web", ALL_ON)).rule != f"switches.{switch}"


def test_the_waiting_list_switch_also_stops_offers_of_a_freed_slot() -> None:
    call = ToolCall("offer_waitlist_slot", {"channel": "sms", "kind": "waitlist_offer"})
    assert evaluate(call, worker(ALL_ON)).allowed
    decision = evaluate(call, worker(replace(ALL_ON, waitlist=False)))
    assert (decision.allowed, decision.rule) == (False, "switches.waitlist")


@pytest.mark.parametrize("action", ["send_reminder", "send_follow_up", "send_review_request", "mark_no_show"])
def test_pausing_automated_messages_stops_what_the_worker_starts(action: str) -> None:
    call = ToolCall(action, {"channel": "sms", "kind": action})
    assert evaluate(call, worker(ALL_ON)).allowed
    decision = evaluate(call, worker(replace(ALL_ON, automated_paused=True)))
    assert (decision.allowed, decision.rule) == (False, "switches.automated_paused")


def test_a_pause_still_lets_the_confirmation_of_what_a_patient_just_did_go() -> None:
    call = ToolCall("send_confirmation", {"channel": "sms", "kind": "booking_confirmation"})
    assert evaluate(call, worker(replace(ALL_ON, automated_paused=True))).allowed


def test_texting_switched_off_stops_automated_texts_but_not_e_mail() -> None:
    off = replace(ALL_ON, sms=False)
    texted = evaluate(ToolCall("send_confirmation", {"channel": "sms", "kind": "x"}), worker(off))
    assert (texted.allowed, texted.rule) == (False, "switches.sms")
    mailed = ToolCall("send_confirmation", {"channel": "email", "kind": "x"})
    assert evaluate(mailed, worker(off, replace(REACHABLE, channel="email"))).allowed


def test_the_language_model_switch() -> None:
    assert language_model_decision(ALL_ON).allowed
    decision = language_model_decision(replace(ALL_ON, language_model=False))
    assert (decision.allowed, decision.rule) == (False, "switches.language_model")


def test_without_the_clinics_switches_every_call_is_denied() -> None:
    decision = evaluate(ToolCall("list_services", {}), chat("web", None))
    assert not decision.allowed
    assert decision.reason == "missing fact: switches"
