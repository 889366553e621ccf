"""The reply rules: what a language model's words may not say, and the safe wording instead."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from policy.replies import SAFE_WORDINGS, ReplyFacts, check_reply

NY = ZoneInfo("America/New_York")
TUESDAY_2PM = datetime(2026, 12, 1, 14, 0, tzinfo=NY)  # a Tuesday
TUESDAY_3_30PM = datetime(2026, 12, 1, 15, 30, tzinfo=NY)
FAQ = (
    "How much is a cleaning? A scale and polish costs $95.\n"
    "Do you take insurance? We accept Delta Dental and Cigna insurance.\n"
    "Cancelling: there is no fee if you cancel at least 24 hours before your appointment."
)


def facts(faq: str = "", held=(TUESDAY_2PM,), offered=(TUESDAY_3_30PM,)) -> ReplyFacts:
    return ReplyFacts("America/New_York", faq, tuple(held), tuple(offered))


@pytest.mark.parametrize(
    ("reply", "rule"),
    [
        ("Take 400mg of ibuprofen every six hours until you can come in.", "replies.medical_advice"),
        ("You could try some Orajel on the gum.", "replies.medical_advice"),
        ("Rinse with warm salt water and you'll be fine.", "replies.medical_advice"),
        ("Hold an ice pack against your cheek for 20 minutes.", "replies.medical_advice"),
        ("It sounds like you have an abscess, so you'll need antibiotics.", "replies.medical_advice"),
        ("You probably have a cracked tooth.", "replies.medical_advice"),
        ("That's nothing to worry about, it should heal by itself.", "replies.medical_advice"),
        ("Avoid chewing on that side until Tuesday.", "replies.medical_advice"),
        ("A filling is $150 with us.", "replies.unstated_price"),
        ("The consultation is free of charge.", "replies.unstated_price"),
        ("We accept Medicaid.", "replies.unstated_policy"),
        ("There is a $25 late cancellation fee.", "replies.unstated_price"),
        ("Your insurance should cover it.", "replies.unstated_policy"),
        ("We offer payment plans for larger treatments.", "replies.unstated_policy"),
        ("You're booked for Tuesday at 3:30 PM. See you then!", "replies.unheld_time"),
        ("All set: I've reserved 10 am for you.", "replies.unheld_time"),
        ("Great, see you Wednesday at 2pm!", "replies.unheld_time"),
        ("Your appointment is confirmed for Friday.", "replies.unheld_time"),
    ],
)
def test_a_reply_that_breaks_a_rule_is_replaced_by_its_safe_wording(reply, rule):
    verdict = check_reply(reply, facts())
    assert (verdict.allowed, verdict.rule) == (False, rule)
    assert verdict.text == SAFE_WORDINGS[rule] and verdict.text != reply


@pytest.mark.parametrize(
    "reply",
    [
        "Please call 911 right now, or go to the nearest emergency department.",
        "I'm holding Tue, Dec 1 at 2:00 PM for you. What name should I put the booking under?",
        "You're booked for Tuesday at 2:00 PM. See you then!",
        "I have 3:30 PM free on Tuesday. Shall I book it?",
        "I can book you in at 3:30 PM if you like.",
        "Here are the first free times: 9:00 AM, 9:30 AM and 10:00 AM. Which works for you?",
        "Our opening hours are Mon-Fri 9:00 AM-5:00 PM.",
        "Would you like to take one of these times?",
        "I can't give medical advice, but I can book you an appointment.",
        "Sure! Which day suits you?",
    ],
)
def test_a_reply_within_the_rules_is_kept_word_for_word(reply):
    verdict = check_reply(reply, facts())
    assert verdict.allowed, verdict.reason
    assert verdict.text == reply


@pytest.mark.parametrize(
    "reply",
    [
        "A scale and polish costs $95.",
        "We accept Delta Dental and Cigna insurance.",
        "There is no fee if you cancel at least 24 hours before your appointment.",
    ],
)
def test_what_the_clinics_faq_states_may_be_said(reply):
    assert not check_reply(reply, facts()).allowed  # no FAQ: nothing of the kind may be stated
    assert check_reply(reply, facts(FAQ)).allowed


@pytest.mark.parametrize(
    "reply",
    ["A scale and polish costs $80.", "We accept Aetna insurance.", "Whitening is $300 this month."],
)
def test_a_price_or_policy_the_faq_does_not_state_is_refused_even_with_an_faq(reply):
    assert not check_reply(reply, facts(FAQ)).allowed


def test_a_promise_needs_the_time_held_not_merely_found():
    offered_only = "You're all set for Tuesday at 3:30 PM."
    assert check_reply(offered_only, facts()).rule == "replies.unheld_time"
    assert check_reply(offered_only, facts(held=(TUESDAY_3_30PM,))).allowed
    # The same clock on another day is another time.
    assert not check_reply("You're booked for Wednesday at 2:00 PM.", facts()).allowed
