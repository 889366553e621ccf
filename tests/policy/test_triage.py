"""Emergency triage: hard triggers in common phrasings, and the near misses that must stay ordinary."""

import json
from pathlib import Path

import pytest

from policy.confirmation import is_explicit_yes
from policy.triage import assess, safety_message

PHRASES = json.loads((Path(__file__).parent.parent / "data" / "triage_phrases.json").read_text())


@pytest.mark.parametrize(("message", "category"), [(p["text"], p["category"]) for p in PHRASES["emergency"]])
def test_emergencies_are_recognised(message, category):
    assert assess(message).category == category


@pytest.mark.parametrize("message", [p["text"] for p in PHRASES["near_miss"]])
def test_near_misses_are_not_emergencies(message):
    assert not assess(message).emergency


@pytest.mark.parametrize(
    ("message", "dismissed"),
    [
        ("I had a stroke last year and I'd like a routine check-up", ("stroke", "history")),
        ("no chest pain or anything, just a cleaning please", ("cardiac", "negation")),
        ("the bill nearly gave me a heart attack", ("cardiac", "figure_of_speech")),
        ("what are the warning signs of a heart attack?", ("cardiac", "other_context")),
    ],
)
def test_a_sign_set_aside_says_why(message, dismissed):
    assert dismissed in assess(message).dismissed


@pytest.mark.parametrize(
    "message",
    [
        "stuck in traffic, running 10 min late",
        "sorry stuck at work, be there in 15",
        "train's stuck outside the station, 20 mins late",
        "my car is stuck in the snow, can I come later",
        "we're stuck on the M25, eta 30 min",
    ],
)
def test_stuck_on_the_way_is_routine(message):
    reading = assess(message)
    assert reading.band == "routine"
    assert ("choking", "other_context") in reading.dismissed


@pytest.mark.parametrize(
    "message",
    [
        "a fish bone is stuck in my throat and I can't breathe",
        "something is stuck in her throat, she can't cough or talk",
        "piece of meat stuck, he's clutching his throat and can't speak",
        "stuck in his throat, he's gagging and can't get any air",
    ],
)
def test_something_stuck_in_the_throat_is_still_an_emergency(message):
    assert assess(message).emergency


def test_a_past_sign_does_not_hide_a_current_one():
    assert assess("I had a stroke last year and now my face is drooping").category == "stroke"
    assert assess("I had chest pain last year, and now my chest is tight again and I'm sweating").emergency


def test_the_safety_message_names_the_local_emergency_number_and_a_crisis_line():
    assert "911" in safety_message("stroke", "US")
    assert "999" in safety_message("stroke", "GB")
    assert "112" in safety_message("stroke", "DE")
    assert "988" in safety_message("self_harm", "US")
    assert "988" not in safety_message("stroke", "US")
    assert "Poison Control" in safety_message("poisoning", "US")


@pytest.mark.parametrize(
    ("text", "explicit"),
    [
        ("yes", True),
        ("Yes, cancel it", True),
        ("yes please", True),
        ("Y", True),
        ("confirm.", True),
        ("maybe", False),
        ("yes but not today", False),
        ("no", False),
        ("yes? what happens to my deposit", False),
        ("I guess", False),
    ],
)
def test_what_counts_as_an_explicit_yes(text, explicit):
    assert is_explicit_yes(text) is explicit
