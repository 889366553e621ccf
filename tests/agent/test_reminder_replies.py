"""Replies to a reminder read into what they mean for the appointment: the labelled set
(tests/data/reminder_replies.json) read well per outcome, and how late a late notice says."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from agent.understanding import Context
from agent.understanding.reminder_replies import OUTCOMES, minutes_late, read_reminder_reply
from agent.understanding.text import normalize

REPLIES = Path(__file__).resolve().parent.parent / "data" / "reminder_replies.json"
CONTEXT = Context(today=date(2026, 3, 2))


def test_the_labelled_set_is_read_well_for_every_outcome():
    replies = json.loads(REPLIES.read_text())["replies"]
    assert len(replies) >= 200
    right, seen = Counter(), Counter()
    for labelled in replies:
        got = read_reminder_reply(labelled["text"], CONTEXT)
        seen[labelled["outcome"]] += 1
        late_ok = labelled["outcome"] != "late" or got.minutes_late == labelled.get("minutes")
        right[labelled["outcome"]] += got.outcome == labelled["outcome"] and late_ok
    assert set(seen) == set(OUTCOMES)
    for outcome in OUTCOMES:
        assert right[outcome] / seen[outcome] >= 0.9, outcome


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("running twenty minutes late", 20),
        ("be there in 25", 25),
        ("ill be 10-15 mins late", 15),
        ("running late, quarter of an hour maybe", 15),
        ("sorry, running late", None),
    ],
)
def test_how_late(text, minutes):
    assert minutes_late(normalize(text)) == minutes


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("Can I bring my daughter along?", "question"),  # "bring my" is no move
        ("the open late thursday thing, is that still on?", "question"),
        ("i cant make it, could we try next wednesday at 4?", "reschedule"),
        ("who is this?", "unclear"),
    ],
)
def test_readings_that_hinge_on_one_pattern(text, outcome):
    assert read_reminder_reply(text, CONTEXT).outcome == outcome


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("yes I'll be there, is there parking?", "is there parking?"),
        ("Yes! See you then. Where do I park?", "Where do I park?"),
        ("will be there. do i need to bring my insurance card?", "do i need to bring my insurance card?"),
        ("yes - where are you located?", "where are you located?"),
    ],
)
def test_a_yes_with_a_question_leaves_the_question_to_answer(text, rest):
    reply = read_reminder_reply(text, CONTEXT)
    assert (reply.outcome, reply.confirms, reply.rest) == ("question", True, rest)
