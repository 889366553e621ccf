"""Layered triage: the four bands, the urgent dental level, context that never escalates, and the
corpus's held-out figures (behaviour on phrasings no detector was tuned or trained on)."""

import json
from collections import Counter
from pathlib import Path

import pytest

from policy.triage import Readings, assess, band, read
from policy.triage.combinations import Finding
from policy.triage.corpus import generate, load
from policy.triage.dental import DentalFinding

# The floors the held-out split must meet: recall first, false alarms bounded.
EMERGENCY_RECALL_FLOOR = 0.90  # an emergency gets the emergency band
FLAGGED_RECALL_FLOOR = 0.95  # an emergency gets the emergency or the possible band
FALSE_ALARM_CEILING = 0.03  # a near miss gets the emergency band
FLAGGED_FALSE_ALARM_CEILING = 0.05  # a near miss gets the emergency or the possible band
URGENT_FLOOR = 0.80  # an urgent dental problem gets the urgent band and its category


def readings(signs=None, combination=None, opinion=None, dental=None) -> Readings:
    return Readings(signs, combination, opinion, dental, ())


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (readings(signs="cardiac"), ("emergency", "cardiac")),
        (readings(combination=Finding("seizure", confident=True)), ("emergency", "seizure")),
        (readings(combination=Finding("stroke", False), opinion=("stroke", 0.4)), ("emergency", "stroke")),
        (readings(combination=Finding("cardiac", confident=False)), ("possible", "cardiac")),
        (readings(opinion=("unconscious", -0.1)), ("possible", "unconscious")),
        (readings(dental=DentalFinding("knocked_out_tooth")), ("urgent", "knocked_out_tooth")),
        (readings(signs="bleeding", dental=DentalFinding("dental_bleeding")), ("urgent", "dental_bleeding")),
        (readings(signs="unconscious", dental=DentalFinding("broken_tooth")), ("emergency", "unconscious")),
        (readings(dental=DentalFinding("dental_infection")), ("emergency", "dental_infection")),
        (readings(dental=DentalFinding("bleeding", emergency=True)), ("emergency", "bleeding")),
        (readings(), ("routine", None)),
    ],
)
def test_the_bands_follow_which_detectors_agree(found, expected):
    triage = band(found)
    assert (triage.band, triage.category) == expected
    assert triage.emergency is (expected[0] == "emergency")


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("my husband is jerking all over and it won't stop, his eyes rolled back", "seizure"),
        ("she went stiff then started jerking, it's been going for 5 mins", "seizure"),
        ("my dad is slumped in his chair and won't respond to me", "unconscious"),
        ("after eating prawns his lips are swelling up and he's wheezing", "anaphylaxis"),
        ("my mum's jaw and left arm ache and she feels faint and sweaty", "cardiac"),
        ("had a tooth out this morning, it's bleeding heavily and I'm pale and dizzy", "bleeding"),
        ("my face is swollen from a bad tooth and it's spreading to my eye", "dental_infection"),
    ],
)
def test_lay_words_of_an_emergency_get_the_emergency_band(message, category):
    triage = assess(message)
    assert (triage.band, triage.category) == ("emergency", category)


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("my son knocked his front tooth out at football", "knocked_out_tooth"),
        ("her tooth got knocked out at hockey practice", "knocked_out_tooth"),
        ("I cracked my molar on a nut and it's agony", "broken_tooth"),
        ("had a tooth out yesterday and the socket won't stop bleeding", "dental_bleeding"),
        ("severe toothache and I've got a fever", "dental_pain_fever"),
        ("my gum is swollen around my back tooth", "dental_swelling"),
    ],
)
def test_urgent_dental_problems_get_the_urgent_band(message, category):
    triage = assess(message)
    assert (triage.band, triage.category) == ("urgent", category)


def test_a_knocked_out_tooth_comes_with_the_first_aid_of_published_guidance():
    advice = assess("my daughter knocked her adult tooth out on the trampoline").advice
    assert advice is not None
    assert "milk" in advice
    assert "within the hour" in advice


@pytest.mark.parametrize(
    "message",
    [
        "chipped my tooth a little, it doesn't hurt at all",
        "my filling fell out but there's no pain",
        "my daughter's wobbly baby tooth fell out",
        "my gums bleed a little when I brush",
        "is it normal for the socket to ooze a bit after an extraction?",
    ],
)
def test_what_guidance_calls_routine_stays_routine(message):
    assert assess(message).band == "routine"


@pytest.mark.parametrize(
    "message",
    [
        "my husband had a seizure last year, shaking all over, is sedation ok?",
        "no swelling in his throat and he isn't wheezing, just a rash",
        "she had a stroke in 2019 and her face droops a bit since, can she have a cleaning",
        "I'm not suicidal, just stressed about the cost",
        "my dad had a heart attack years ago, jaw pain and sweating back then",
        "what should I do if someone collapses in the waiting room?",
        "stuffy nose, can't breathe through it, can I still come in?",
        "I'm choking up reading your kind message",
        "my son won't wake up for school in the mornings",
    ],
)
def test_a_past_negated_hypothetical_or_figurative_sign_never_escalates(message):
    triage = assess(message)
    assert triage.band == "routine"
    found = read(message)
    assert (found.signs, found.combinations, found.classifier) == (None, None, None)


def test_a_sign_set_aside_is_named_with_its_reason():
    assert ("seizure", "history") in assess("my husband had a seizure last year, shaking all over").dismissed


def test_the_corpus_is_large_labelled_and_split_by_template():
    rows = load()
    assert len(rows) >= 1000
    assert {row.band for row in rows} == {"emergency", "urgent", "routine"}
    assert all(row.near_miss == (row.label == "none") for row in rows)
    held_out, tune = load("held_out"), load("tune")
    assert {row.text for row in held_out}.isdisjoint(row.text for row in tune)
    labels = Counter(row.label for row in rows)
    assert all(count >= 20 for count in labels.values()), labels
    for part in (held_out, tune):
        assert {row.label for row in part} == set(labels)


def test_the_generated_corpus_is_what_its_templates_make():
    written = [
        json.loads(line) for line in (Path(generate.HERE) / "generated.jsonl").read_text().splitlines()
    ]
    assert written == generate.rows(generate.TEMPLATES + generate.URGENT + generate.NEAR_MISSES)


def test_the_held_out_split_meets_the_recall_floor_and_the_false_alarm_ceiling():
    rows = [(row, assess(row.text)) for row in load("held_out")]
    emergencies = [triage.band for row, triage in rows if row.band == "emergency"]
    near_misses = [triage.band for row, triage in rows if row.near_miss]
    urgent = [(row.label, triage) for row, triage in rows if row.band == "urgent"]
    recall = sum(b == "emergency" for b in emergencies) / len(emergencies)
    flagged = sum(b in {"emergency", "possible"} for b in emergencies) / len(emergencies)
    false_alarms = sum(b == "emergency" for b in near_misses) / len(near_misses)
    flagged_false_alarms = sum(b in {"emergency", "possible"} for b in near_misses) / len(near_misses)
    urgent_right = sum(t.band == "urgent" and t.category == label for label, t in urgent) / len(urgent)
    assert recall >= EMERGENCY_RECALL_FLOOR
    assert flagged >= FLAGGED_RECALL_FLOOR
    assert false_alarms <= FALSE_ALARM_CEILING
    assert flagged_false_alarms <= FLAGGED_FALSE_ALARM_CEILING
    assert urgent_right >= URGENT_FLOOR
