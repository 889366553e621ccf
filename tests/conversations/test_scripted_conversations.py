"""Scripted patients who never tap a chip (tests/conversations/scripts/*.yaml, in the format of
docs/conversation-scripts.md), through the HTTP chat API and over signed SMS webhooks; each checked
reply by reply and against the bookings the API shows afterwards. `frontdesk converse` runs the same
corpus through its own process (tests/converse)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conversations.runner import PhonePatient, corpus, explain, fresh_clinic, run
from tests.support.phone import phone_lines

CASES = corpus()
WEB = [c for c in CASES if c.script.channel == "web"]
SMS = [c for c in CASES if c.script.channel == "sms"]


def test_the_corpus_is_large_and_spans_the_classes():
    kinds = Counter(c.script.kind for c in CASES)
    assert len(WEB) >= 60 and len(SMS) >= 60
    assert sum(n for kind, n in kinds.items() if not kind.startswith("basics")) >= 150, kinds


@pytest.mark.parametrize("case", WEB, ids=[c.script.name for c in WEB])
async def test_a_patient_typing_on_the_web(case, client):
    outcome = await run(case, await fresh_clinic(client, case))
    assert outcome.passed, explain(outcome)


@pytest.fixture(scope="module")
async def phones(db, settings):
    """One set of phone lines for every texting script (each on its own clinic and number)."""
    async with phone_lines(db, settings) as lines:
        yield lines


@pytest.mark.parametrize("case", SMS, ids=[c.script.name for c in SMS])
async def test_a_patient_texting(case, phones):
    clinic = await fresh_clinic(phones.web, case, with_number=True)
    assert clinic.number is not None
    outcome = await run(case, clinic, PhonePatient(phones, case.patient.phone, clinic.number))
    assert outcome.passed, explain(outcome)
