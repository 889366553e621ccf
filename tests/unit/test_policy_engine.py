"""The default-deny policy engine, rule by rule."""

from datetime import UTC, datetime, timedelta

import pytest

from policy.engine import (
    CHAT_TOOLS,
    BookingFacts,
    PendingCancel,
    PolicyContext,
    ToolCall,
    evaluate,
)

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York
TODAY = "2026-12-01"
MINE = BookingFacts(reference="K7M2QX", customer_id="c-1", phone="+16175550100", email="jane@example.com")


def ctx(**overrides) -> PolicyContext:
    base = {
        "channel": "web",
        "now": NOW,
        "timezone": "America/New_York",
        "turn": 5,
        "far_date_confirm_days": 30,
    }
    return PolicyContext(**{**base, **overrides})


def cancel_ctx(
    asked_in: int | None = 4, said: str = "yes", customer: str = "c-1", reference: str = "K7M2QX"
) -> PolicyContext:
    """Turn 5 of a conversation verified as `customer`, asked in turn `asked_in` to cancel `reference`."""
    pending = PendingCancel(reference, asked_in) if asked_in is not None else None
    return ctx(target=MINE, verified_customer_id=customer, pending_cancel=pending, user_text=said)


def call(tool: str, /, **args) -> ToolCall:
    return ToolCall(tool, args)


@pytest.mark.parametrize(
    ("tool_call", "context", "allowed", "rule"),
    [
        # channel allowlist and the closed set
        (call("list_services"), ctx(), True, "tool.list_services"),
        (call("list_services"), ctx(channel="fax"), False, "channel.allowlist"),
        (call("send_reminder"), ctx(channel="web"), False, "channel.allowlist"),
        (call("hold_slot"), ctx(channel="worker"), False, "channel.allowlist"),
        (call("drop_tables"), ctx(), False, "channel.allowlist"),
        # no past dates
        (call("check_availability", date_from="2026-11-30"), ctx(), False, "dates.no_past"),
        (call("check_availability", date_from=TODAY), ctx(), True, "tool.check_availability"),
        (call("hold_slot", starts_at="2026-12-01T09:00:00-05:00"), ctx(), False, "dates.no_past"),
        (call("hold_slot", starts_at="2026-12-01T11:00:00-05:00"), ctx(), True, "tool.hold_slot"),
        (call("hold_slot", starts_at="2026-12-01T11:00:00"), ctx(), False, "rule.no_past_dates"),
        # window of at most 14 days
        (
            call("check_availability", date_from=TODAY, date_to="2026-12-14"),
            ctx(),
            True,
            "tool.check_availability",
        ),
        (
            call("check_availability", date_from=TODAY, date_to="2026-12-15"),
            ctx(),
            False,
            "dates.window_14_days",
        ),
        (
            call("check_availability", date_from="2026-12-05", date_to="2026-12-04"),
            ctx(),
            False,
            "dates.window_14_days",
        ),
        # far dates need the patient's explicit confirmation
        (call("check_availability", date_from="2027-01-01"), ctx(), False, "dates.far_future_confirmation"),
        (
            call("check_availability", date_from="2027-01-01", far_date_confirmed=True),
            ctx(),
            True,
            "tool.check_availability",
        ),
        (call("check_availability", date_from="2026-12-31"), ctx(), True, "tool.check_availability"),
        (
            call("check_availability", date_from=TODAY),
            ctx(far_date_confirm_days=None),
            False,
            "rule.far_dates_confirmed",
        ),
        # one active hold per conversation
        (
            call("hold_slot", starts_at="2026-12-02T10:00:00-05:00"),
            ctx(active_hold_id="h1"),
            False,
            "holds.one_per_conversation",
        ),
        (
            call("hold_slot", starts_at="2026-12-02T10:00:00-05:00", replace_hold_id="h1"),
            ctx(active_hold_id="h1"),
            True,
            "tool.hold_slot",
        ),
        (
            call("hold_slot", starts_at="2026-12-02T10:00:00-05:00", replace_hold_id="other"),
            ctx(active_hold_id="h1"),
            False,
            "holds.one_per_conversation",
        ),
        # confirming: the conversation's own hold, and contact details
        (
            call("confirm_booking", hold_id="h1"),
            ctx(active_hold_id="h1", has_contact=True),
            True,
            "tool.confirm_booking",
        ),
        (
            call("confirm_booking", hold_id="h2"),
            ctx(active_hold_id="h1", has_contact=True),
            False,
            "holds.own_hold",
        ),
        (
            call("confirm_booking", hold_id="h1"),
            ctx(has_contact=True),
            False,
            "rule.hold_is_the_conversations",
        ),
        (call("confirm_booking", hold_id="h1"), ctx(active_hold_id="h1"), False, "contact.required"),
        # identity on the web: verified customer, or reference + contact on file
        (
            call("lookup_booking", reference="K7M2QX"),
            ctx(target=MINE, verified_customer_id="c-1"),
            True,
            "tool.lookup_booking",
        ),
        (
            call("lookup_booking", reference="K7M2QX"),
            ctx(target=MINE, verified_customer_id="c-2"),
            False,
            "identity.own_booking",
        ),
        (
            call("lookup_booking", reference="K7M2QX", contact="jane@example.com"),
            ctx(target=MINE),
            True,
            "tool.lookup_booking",
        ),
        (
            call("lookup_booking", reference="K7M2QX", contact="+16175550100"),
            ctx(target=MINE),
            True,
            "tool.lookup_booking",
        ),
        (
            call("lookup_booking", reference="K7M2QX", contact="+16175550199"),
            ctx(target=MINE),
            False,
            "identity.own_booking",
        ),
        (
            call("lookup_booking", reference="AAAAA2", contact="jane@example.com"),
            ctx(target=MINE),
            False,
            "identity.own_booking",
        ),
        (
            call("lookup_booking", reference="K7M2QX", contact="x@example.com"),
            ctx(),
            False,
            "rule.identity_own_booking",
        ),
        (call("lookup_booking"), ctx(), False, "rule.identity_own_booking"),
        (call("lookup_booking"), ctx(verified_customer_id="c-1"), True, "tool.lookup_booking"),
        # identity on SMS and voice: the sender's phone
        (
            call("lookup_booking"),
            ctx(channel="sms", channel_phone="+16175550100"),
            True,
            "tool.lookup_booking",
        ),
        (
            call("reschedule_booking", reference="K7M2QX", starts_at="2026-12-03T10:00:00-05:00"),
            ctx(channel="sms", channel_phone="+16175550100", target=MINE),
            True,
            "tool.reschedule_booking",
        ),
        (
            call("reschedule_booking", reference="K7M2QX", starts_at="2026-12-03T10:00:00-05:00"),
            ctx(channel="voice", channel_phone="+16175550199", target=MINE),
            False,
            "identity.own_booking",
        ),
        (
            call("reschedule_booking", reference="K7M2QX", starts_at="2026-11-30T10:00:00-05:00"),
            ctx(target=MINE, verified_customer_id="c-1"),
            False,
            "dates.no_past",
        ),
        # cancelling: asked in an earlier turn, answered with a plain yes
        (
            call("cancel_booking", reference="K7M2QX"),
            cancel_ctx(asked_in=None),
            False,
            "cancel.explicit_confirmation",
        ),
        (call("cancel_booking", reference="K7M2QX"), cancel_ctx(), True, "tool.cancel_booking"),
        (
            call("cancel_booking", reference="K7M2QX"),
            cancel_ctx(asked_in=5),
            False,
            "cancel.explicit_confirmation",
        ),
        (
            call("cancel_booking", reference="K7M2QX"),
            cancel_ctx(said="yes but not today"),
            False,
            "cancel.explicit_confirmation",
        ),
        (
            call("cancel_booking", reference="K7M2QX"),
            cancel_ctx(reference="ZZZZZ2"),
            False,
            "cancel.explicit_confirmation",
        ),
        (
            call("cancel_booking", reference="K7M2QX"),
            cancel_ctx(customer="c-9"),
            False,
            "identity.own_booking",
        ),
        # waiting list needs contact details and sane dates
        (
            call("join_waitlist", date_from=TODAY, name="Jane", phone="+16175550100"),
            ctx(has_contact=True),
            True,
            "tool.join_waitlist",
        ),
        (call("join_waitlist", date_from=TODAY, name="Jane"), ctx(), False, "contact.required"),
        (call("request_human"), ctx(), True, "tool.request_human"),
    ],
)
def test_rules(tool_call, context, allowed, rule):
    decision = evaluate(tool_call, context)
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason


@pytest.mark.parametrize(
    "tool", sorted(["hold_slot", "confirm_booking", "reschedule_booking", "cancel_booking", "join_waitlist"])
)
def test_an_emergency_turn_blocks_every_transactional_tool(tool):
    decision = evaluate(call(tool, reference="K7M2QX"), ctx(emergency=True))
    assert (decision.allowed, decision.rule) == (False, "triage.emergency")


def test_an_emergency_turn_still_allows_reading():
    assert evaluate(call("list_services"), ctx(emergency=True)).allowed


def test_every_tool_and_worker_action_has_rules_and_a_tool_without_rules_is_denied(monkeypatch):
    from policy import engine

    assert set(engine.TOOL_RULES) == CHAT_TOOLS | engine.WORKER_ACTIONS
    monkeypatch.setattr(
        engine, "TOOL_RULES", {k: v for k, v in engine.TOOL_RULES.items() if k != "list_services"}
    )
    decision = evaluate(call("list_services"), ctx())
    assert (decision.allowed, decision.rule) == (False, "default_deny")


def test_a_rule_that_raises_denies(monkeypatch):
    from policy import engine

    def broken(tool_call, context):
        raise RuntimeError("bug")

    monkeypatch.setitem(engine.TOOL_RULES, "list_services", (broken,))
    decision = evaluate(call("list_services"), ctx())
    assert (decision.allowed, decision.rule) == (False, "rule.broken")
    assert "RuntimeError" in decision.reason


def test_time_moves_the_far_date_limit():
    far = call("check_availability", date_from="2027-01-05")
    assert not evaluate(far, ctx()).allowed
    assert evaluate(far, ctx(now=NOW + timedelta(days=10))).allowed
