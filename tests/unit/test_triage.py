"""Emergency triage: hard triggers in common phrasings, and the near misses that must stay ordinary."""

import pytest

from policy.confirmation import is_explicit_yes
from policy.triage import assess, safety_message


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("I have chest pain and I can't breathe", "chest_pain_breathing"),
        ("my chest hurts and I'm short of breath", "chest_pain_breathing"),
        ("Pain in my chest, struggling to breathe", "chest_pain_breathing"),
        ("I think my dad is having a heart attack", "chest_pain_breathing"),
        ("I think I'm having a stroke", "stroke"),
        ("her face is drooping and her speech is slurred", "stroke"),
        ("he can't move his arm all of a sudden", "stroke"),
        ("sudden numbness on one side", "stroke"),
        ("my gums are bleeding and it won't stop", "severe_bleeding"),
        ("there is severe bleeding after my extraction", "severe_bleeding"),
        ("bleeding heavily from the mouth", "severe_bleeding"),
        ("my throat is closing up after the injection", "anaphylaxis"),
        ("allergic reaction, my lips are swelling and it's hard to breathe", "anaphylaxis"),
        ("I think it's anaphylaxis", "anaphylaxis"),
        ("I took too many pills", "overdose"),
        ("my son swallowed a bottle of painkillers", "overdose"),
        ("I think she overdosed", "overdose"),
        ("I want to kill myself", "self_harm"),
        ("I don't want to live anymore", "self_harm"),
        ("thinking about ending it all, I want to end my life", "self_harm"),
        ("I\u2019ve been feeling suicidal", "self_harm"),
    ],
)
def test_emergencies_are_recognised(message, category):
    assert assess(message).category == category


@pytest.mark.parametrize(
    "message",
    [
        "Can I get my chest x-ray results?",
        "this toothache is killing me",
        "my gums bleed a little when I brush",
        "I'm allergic to latex, please note it",
        "what dose of ibuprofen is ok after a filling?",
        "I'd kill for an earlier slot",
        "I had chest pain last year, it was checked",
        "book me a check-up, I'm short on time",
        "can I bring my inhaler?",
        "my stroke of luck: a free afternoon tomorrow",
    ],
)
def test_near_misses_are_not_emergencies(message):
    assert not assess(message).emergency


def test_the_safety_message_names_the_local_emergency_number_and_a_crisis_line():
    assert "911" in safety_message("stroke", "US")
    assert "999" in safety_message("stroke", "GB")
    assert "112" in safety_message("stroke", "DE")
    assert "988" in safety_message("self_harm", "US")
    assert "988" not in safety_message("stroke", "US")


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
