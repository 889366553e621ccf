"""Texts and calls: the patient is told once that this is an automated assistant, and an emergency
texted in (a signed webhook) reaches the clinic's on-call phone at the local Twilio server."""

from __future__ import annotations

from channels.segments import count_segments
from policy.replies import disclosure
from tests.support.db import rows
from tests.support.messaging import new_phone
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller

DISCLOSURE = disclosure("Test Clinic")


async def test_the_first_text_of_a_thread_says_it_is_an_automated_assistant_once(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        first = await phones.say(patient, practice, "Hi")
        assert first.startswith(DISCLOSURE) and "can't give medical advice" in first
        assert count_segments(first).segments <= 2
        second = await phones.say(patient, practice, "what are your opening hours?")
        assert "automated assistant" not in second and "9:00 AM" in second


async def test_an_emergency_texted_in_is_answered_whole_and_pages_the_on_call_phone(
    db, tenant, settings, client
):
    on_call, patient = new_phone("617"), new_phone()
    changed = await client.patch(
        "/api/v1/tenant/settings",
        json={"settings": {"on_call_phone": on_call, "alert_email": "alerts@clinic.example"}},
        headers=tenant.auth,
    )
    assert changed.status_code == 200
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        answer = await phones.say(patient, practice, "my dad's face is drooping and his speech is slurred")
        # The disclosure, the safety message and what the clinic was told: nothing cut off.
        assert answer.startswith(DISCLOSURE) and "911" in answer
        assert answer.endswith("I've alerted the clinic and texted the person on call.")
        assert count_segments(answer).segments <= 3

        [page] = phones.received(on_call)
        assert page.from_ == practice
        assert page.body.startswith(
            "Test Clinic: EMERGENCY (stroke) flagged in a text conversation. Open it:"
        )
        assert "drooping" not in page.body and patient not in page.body

        # More texts about it: the patient is answered, the on-call phone is not paged again.
        await phones.say(patient, practice, "he can't lift his arm either")
        assert len(phones.received(on_call)) == 1

    [event] = await rows(
        db,
        "SELECT data FROM domain_events WHERE tenant_id = :t AND type = 'conversation.emergency'",
        t=tenant.id,
    )
    assert event["data"]["channel"] == "sms" and event["data"]["category"] == "stroke"
    mails = await rows(
        db,
        "SELECT recipient, urgent FROM notification_outbox WHERE tenant_id = :t AND kind = 'triage_alert' "
        "AND channel = 'email'",
        t=tenant.id,
    )
    assert mails == [{"recipient": "alerts@clinic.example", "urgent": True}]


async def test_the_phone_greeting_says_it_is_an_automated_assistant(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        caller = Caller(phones, practice)
        await caller.dial()
        assert "I'm an automated assistant, and I can't give medical advice." in caller.heard
