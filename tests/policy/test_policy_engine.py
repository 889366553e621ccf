"""The default-deny policy engine, rule by rule."""

from datetime import UTC, datetime, time, timedelta

import pytest

from policy.engine import (
    CHAT_TOOLS,
    BookingFacts,
    OutboundFacts,
    PendingCancel,
    PendingConfirmation,
    PolicyContext,
    Summary,
    Switches,
    ToolCall,
    evaluate,
)
from policy.quiet_hours import is_quiet, quiet_until

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
        "switches": Switches(),
    }
    return PolicyContext(**{**base, **overrides})


def cancel_ctx(
    asked_in: int | None = 4, said: str = "yes", customer: str = "c-1", reference: str = "K7M2QX"
) -> PolicyContext:
    """Turn 5 of a conversation verified as `customer`, asked in turn `asked_in` to cancel `reference`."""
    pending = PendingCancel(reference, asked_in) if asked_in is not None else None
    return ctx(target=MINE, verified_customer_id=customer, pending_cancel=pending, user_text=said)


BOOKING = Summary(
    "confirm_booking", "Check-up on Thu, Dec 3 at 10:00 AM with Dr. Adams, for Jane", ("h1", "Jane")
)
MOVE = Summary("reschedule_booking", "your Check-up from Tue to Thu", ("K7M2QX", "old", "new"))


def agreed(summary: Summary = BOOKING, asked_in: int = 4) -> dict:
    """The patient was shown `summary` in turn `asked_in` and says yes now (turn 5)."""
    return {
        "summary": summary,
        "pending_confirmation": PendingConfirmation(summary.action, summary.digest, asked_in),
        "user_text": "yes",
    }


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
            ctx(active_hold_id="h1", has_contact=True, **agreed()),
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
            ctx(channel="sms", channel_phone="+16175550100", target=MINE, **agreed(MOVE)),
            True,
            "tool.reschedule_booking",
        ),
        (
            call("reschedule_booking", reference="K7M2QX", starts_at="2026-12-03T10:00:00-05:00"),
            ctx(channel="voice", channel_phone="+16175550199", target=MINE),
            False,
            "identity.own_booking",
        ),
        # a call from a withheld number proves itself as on the web; a text never does
        (
            call("lookup_booking", reference="K7M2QX", contact="+16175550100"),
            ctx(channel="voice", target=MINE),
            True,
            "tool.lookup_booking",
        ),
        (
            call("lookup_booking", reference="K7M2QX", contact="+16175550199"),
            ctx(channel="voice", target=MINE),
            False,
            "identity.own_booking",
        ),
        (call("lookup_booking"), ctx(channel="voice"), False, "rule.identity_own_booking"),
        (
            call("lookup_booking", reference="K7M2QX", contact="+16175550100"),
            ctx(channel="sms", target=MINE),
            False,
            "rule.identity_own_booking",
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


# ---- outbound rules of the worker's actions ----


def outbound(channel="sms", **facts) -> OutboundFacts:
    base = {
        "channel": channel,
        "has_address": True,
        "consented": True,
        "opted_out": False,
        "recipient_timezone": "America/New_York",
        "quiet_start": time(21, 0),
        "quiet_end": time(8, 0),
    }
    return OutboundFacts(**{**base, **facts})


def worker(now=NOW, **facts) -> PolicyContext:
    return ctx(channel="worker", now=now, outbound=outbound(**facts))


NIGHT = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # 22:30 in New York, 19:30 in Los Angeles
LIMITS = {"cap": 2, "cooldown": timedelta(minutes=30)}


@pytest.mark.parametrize(
    ("action", "context", "allowed", "rule"),
    [
        ("send_confirmation", worker(), True, "tool.send_confirmation"),
        ("send_confirmation", ctx(channel="worker"), False, "rule.outbound_reachable"),  # no facts: deny
        ("send_reminder", worker(has_address=False), False, "outbound.contact"),
        ("send_reminder", worker(consented=False), False, "outbound.contact"),
        ("send_reminder", worker(opted_out=True), False, "outbound.opt_out"),
        ("send_reminder", worker(channel="email", opted_out=True), True, "tool.send_reminder"),
        ("mark_no_show", worker(opted_out=True), False, "outbound.opt_out"),
        # reminders are deferred by the outbox at night, not refused
        ("send_reminder", worker(now=NIGHT), True, "tool.send_reminder"),
        ("offer_waitlist_slot", worker(now=NIGHT), False, "outbound.quiet_hours"),
        (
            "offer_waitlist_slot",
            worker(now=NIGHT, recipient_timezone="America/Los_Angeles"),
            True,
            "tool.offer_waitlist_slot",
        ),
        ("offer_waitlist_slot", worker(now=NIGHT, channel="email"), True, "tool.offer_waitlist_slot"),
        ("offer_waitlist_slot", worker(), True, "tool.offer_waitlist_slot"),
        ("send_follow_up", worker(**LIMITS), True, "tool.send_follow_up"),
        ("send_follow_up", worker(), False, "rule.outbound_cooldown"),  # no limits known: deny
        (
            "send_follow_up",
            worker(last_sent_at=NOW - timedelta(minutes=29), sent_in_window=1, **LIMITS),
            False,
            "outbound.cooldown",
        ),
        (
            "send_follow_up",
            worker(last_sent_at=NOW - timedelta(minutes=31), sent_in_window=1, **LIMITS),
            True,
            "tool.send_follow_up",
        ),
        (
            "send_follow_up",
            worker(last_sent_at=NOW - timedelta(hours=5), sent_in_window=2, **LIMITS),
            False,
            "outbound.cap",
        ),
        ("send_review_request", worker(sent_in_window=1, cap=1), False, "outbound.cap"),
        ("send_review_request", worker(sent_in_window=0, cap=1), True, "tool.send_review_request"),
    ],
)
def test_outbound_rules(action, context, allowed, rule):
    decision = evaluate(
        call(action, channel=context.outbound.channel if context.outbound else "sms"), context
    )
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason


@pytest.mark.parametrize(
    ("local", "start", "end", "quiet"),
    [
        (time(22, 0), time(21, 0), time(8, 0), True),
        (time(7, 59), time(21, 0), time(8, 0), True),
        (time(8, 0), time(21, 0), time(8, 0), False),
        (time(20, 59), time(21, 0), time(8, 0), False),
        (time(13, 0), time(12, 0), time(14, 0), True),  # a window within one day
        (time(3, 0), time(0, 0), time(0, 0), False),  # equal ends: no quiet hours
    ],
)
def test_quiet_hours_window(local, start, end, quiet):
    assert is_quiet(local, start, end) is quiet


def test_quiet_hours_end_the_next_morning_in_the_recipients_zone():
    assert quiet_until(NIGHT, "America/New_York", time(21), time(8)) == datetime(
        2026, 12, 2, 13, 0, tzinfo=UTC
    )
    assert quiet_until(NIGHT, "America/Los_Angeles", time(21), time(8)) is None
    after_midnight = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 02:00 in New York
    assert quiet_until(after_midnight, "America/New_York", time(21), time(8)) == datetime(
        2026, 12, 2, 13, 0, tzinfo=UTC
    )


def test_quiet_hours_ending_inside_a_dst_gap_end_at_the_first_valid_minute():
    # 2027-03-14: New York skips 02:00-03:00. Quiet hours ending at 02:30 end at 03:00 EDT (07:00 UTC).
    night = datetime(2027, 3, 14, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert quiet_until(night, "America/New_York", time(23), time(2, 30)) == datetime(
        2027, 3, 14, 7, 0, tzinfo=UTC
    )


BOOK = call("confirm_booking", hold_id="h1")
MOVE_IT = call("reschedule_booking", reference="K7M2QX", starts_at="2026-12-03T10:00:00-05:00")
OTHER_BOOKING = Summary(
    "confirm_booking", "Check-up on Fri, Dec 4 at 11:00 AM with Dr. Adams, for Jane", ("h1", "Jane", "Fri")
)
OTHER_MOVE = Summary("reschedule_booking", "your Check-up from Tue to Fri", ("K7M2QX", "old", "newer"))


@pytest.mark.parametrize(
    ("tool_call", "base", "summary", "pending", "said", "allowed", "why"),
    [
        # confirm_booking: no summary shown, the yes in the same message, a yes to another summary, a yes
        (BOOK, {"active_hold_id": "h1", "has_contact": True}, BOOKING, None, "yes", False, "summary"),
        (BOOK, {"active_hold_id": "h1", "has_contact": True}, BOOKING, 5, "yes", False, "later message"),
        (BOOK, {"active_hold_id": "h1", "has_contact": True}, OTHER_BOOKING, 4, "yes", False, "summary"),
        (BOOK, {"active_hold_id": "h1", "has_contact": True}, BOOKING, 4, "yes", True, "every rule"),
        # the same four for reschedule_booking
        (MOVE_IT, {"target": MINE, "verified_customer_id": "c-1"}, MOVE, None, "yes", False, "summary"),
        (MOVE_IT, {"target": MINE, "verified_customer_id": "c-1"}, MOVE, 5, "yes", False, "later message"),
        (MOVE_IT, {"target": MINE, "verified_customer_id": "c-1"}, OTHER_MOVE, 4, "yes", False, "summary"),
        (MOVE_IT, {"target": MINE, "verified_customer_id": "c-1"}, MOVE, 4, "yes", True, "every rule"),
        # and what the yes must be: unhedged, and the answer to the summary, in the next message
        (BOOK, {"active_hold_id": "h1", "has_contact": True}, BOOKING, 4, "maybe", False, "not said yes"),
        (BOOK, {"active_hold_id": "h1", "has_contact": True}, BOOKING, 4, "1", False, "not said yes"),
        (BOOK, {"active_hold_id": "h1", "has_contact": True}, BOOKING, 2, "yes", False, "next message"),
    ],
)
def test_booking_and_moving_need_a_yes_to_the_very_summary(
    tool_call, base, summary, pending, said, allowed, why
):
    """`summary` is what the patient was shown (in turn `pending`); the call's own is BOOKING or MOVE."""
    own = BOOKING if tool_call.name == "confirm_booking" else MOVE
    shown = PendingConfirmation(tool_call.name, summary.digest, pending) if pending is not None else None
    decision = evaluate(tool_call, ctx(**base, summary=own, pending_confirmation=shown, user_text=said))
    assert decision.allowed is allowed, decision
    assert why in decision.reason
    if not allowed:
        rule = "booking" if tool_call.name == "confirm_booking" else "reschedule"
        assert decision.rule == f"{rule}.explicit_confirmation"


def test_the_yes_is_bound_to_every_fact_of_the_summary():
    a = Summary("confirm_booking", "text", ("h1", "Check-up", "10:00", "Jane", "+16175550100", "", "True"))
    b = Summary("confirm_booking", "text", ("h1", "Check-up", "10:00", "Jane", "+16175550199", "", "True"))
    assert a.digest != b.digest and a.digest == Summary("confirm_booking", "other words", a.facts).digest
