"""Scripted patients who never tap a chip, through the HTTP chat API and over SMS webhooks; each
checked against the booking the API shows afterwards (tests/conversations)."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_SECRET
from tests.conversations.corpus import SCRIPTS
from tests.conversations.runner import PATIENT, Outcome, WebPatient, new_clinic, run
from tests.support.phone import phone_lines

WEB = [s for s in SCRIPTS if s.channel == "web"]
SMS = [s for s in SCRIPTS if s.channel == "sms"]


def explain(outcome: Outcome) -> str:
    lines = [f"{outcome.script.name} ({outcome.channel}):", *outcome.problems]
    lines += [f"  patient: {said}\n  receptionist: {reply}" for said, reply in outcome.transcript]
    return "\n".join(lines)


class SmsPatient:
    def __init__(self, phones, practice: str) -> None:
        self.phones, self.practice = phones, practice

    async def say(self, text: str) -> str:
        return await self.phones.say(PATIENT["phone"], self.practice, text)


def test_the_corpus_is_large_and_covers_every_point():
    assert len(WEB) >= 60 and len(SMS) >= 8
    assert {point for s in SCRIPTS for point in s.covers} == set(range(1, 8))


@pytest.mark.parametrize("script", WEB, ids=[s.name for s in WEB])
async def test_a_patient_typing_on_the_web(script, client):
    clinic = await new_clinic(client, ADMIN_SECRET)
    outcome = await run(script, clinic, WebPatient(client, clinic.widget_key), "web")
    assert outcome.passed, explain(outcome)


@pytest.mark.parametrize("script", SMS, ids=[s.name for s in SMS])
async def test_a_patient_texting(script, db, settings):
    async with phone_lines(db, settings) as phones:
        clinic = await new_clinic(phones.web, ADMIN_SECRET, with_number=True)
        assert clinic.number is not None
        outcome = await run(script, clinic, SmsPatient(phones, clinic.number), "sms")
    assert outcome.passed, explain(outcome)
