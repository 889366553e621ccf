"""Scripted patients who never tap a chip (tests/conversations/scripts/*.yaml, in the format of
docs/conversation-scripts.md), through the HTTP chat API and over signed SMS webhooks; each checked
reply by reply and against the bookings the API shows afterwards."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ADMIN_SECRET
from tests.conversations.runner import Case, Heard, WebPatient, corpus, new_clinic, run
from tests.support.phone import phone_lines

CASES = corpus()
WEB = [c for c in CASES if c.script.channel == "web"]
SMS = [c for c in CASES if c.script.channel == "sms"]


class SmsPatient:
    def __init__(self, phones, phone: str, practice: str) -> None:
        self.phones, self.phone, self.practice = phones, phone, practice

    async def say(self, text: str) -> Heard:
        return Heard(await self.phones.say(self.phone, self.practice, text))


def _today(case: Case):
    return datetime.now(ZoneInfo(case.clinic["timezone"])).date()


def test_the_corpus_is_large_and_spans_the_classes():
    kinds = Counter(c.script.kind for c in CASES)
    assert len(WEB) >= 60 and len(SMS) >= 60
    assert sum(n for kind, n in kinds.items() if not kind.startswith("basics")) >= 150, kinds


@pytest.mark.parametrize("case", WEB, ids=[c.id for c in WEB])
async def test_a_patient_typing_on_the_web(case, client):
    clinic = await new_clinic(client, ADMIN_SECRET, case.clinic, _today(case))
    outcome = await run(case, clinic, WebPatient(client, clinic.widget_key))
    assert outcome.passed, outcome.explain()


@pytest.fixture(scope="module")
async def phones(db, settings):
    """One set of phone lines for every texting script (each on its own clinic and number)."""
    async with phone_lines(db, settings) as lines:
        yield lines


@pytest.mark.parametrize("case", SMS, ids=[c.id for c in SMS])
async def test_a_patient_texting(case, phones):
    clinic = await new_clinic(phones.web, ADMIN_SECRET, case.clinic, _today(case), with_number=True)
    assert clinic.number is not None
    outcome = await run(case, clinic, SmsPatient(phones, case.patient.phone, clinic.number))
    assert outcome.passed, outcome.explain()
