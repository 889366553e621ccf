"""An emergency on a phone call (signed webhooks, the local Twilio server): said for the ear, the
clinic alerted as on every channel, and the call put through to the emergency number or the clinic."""

from __future__ import annotations

import re

from tests.support.db import rows, scalar
from tests.support.messaging import new_phone
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller

STROKE = "my dad's face is drooping and his speech is slurred"
SCREEN_WORDS = re.compile(r"\b(chat|screen|tap|reply|watching|monitor\w*|click|conversation)\b", re.I)


async def _status(db, conversation_of_call: str) -> str:
    return await scalar(
        db,
        "SELECT c.status FROM conversations c JOIN voice_calls v ON v.conversation_id = c.id "
        "WHERE v.call_sid = :s",
        s=conversation_of_call,
    )


async def test_an_emergency_on_a_call_alerts_the_clinic_and_puts_the_caller_through_to_911(
    db, make_tenant, settings
):
    on_call, staff = new_phone("617"), new_phone("617")
    tenant = await make_tenant(settings={"on_call_phone": on_call, "staff_phone": staff})
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth))
        await call.dial()
        await call.say(STROKE)
        heard = call.heard
        # Phone wording: the number once, digit by digit, short sentences, nothing about a screen.
        assert heard.count("9 1 1") == 1 and "911" not in heard, heard
        assert not SCREEN_WORDS.search(heard), heard
        assert "I've alerted the clinic, and texted the person on call." in heard
        assert "Press 1, or say emergency, to be connected to 9 1 1 now." in heard
        assert "Press 2 to be connected to the clinic." in heard
        assert "Option one" not in heard and call.gather is not None  # still listening for the choice

        await phones.settle()
        [page] = phones.received(on_call)
        assert page.body.startswith("Test Clinic: EMERGENCY (stroke) flagged in a phone call. Open it:")
        assert "drooping" not in page.body and call.number not in page.body

        await call.say(digits="1")
        assert call.last.findtext("Dial") == "911" and call.gather is None
        assert "Connecting you to 9 1 1 now." in call.heard

    [event] = await rows(
        db,
        "SELECT data FROM domain_events WHERE tenant_id = :t AND type = 'conversation.emergency'",
        t=tenant.id,
    )
    assert event["data"]["channel"] == "voice" and event["data"]["category"] == "stroke"
    [row] = await rows(db, "SELECT status, end_reason FROM voice_calls WHERE call_sid = :s", s=call.sid)
    assert row == {"status": "ended", "end_reason": "emergency_transferred"}
    # Put through to the emergency number: the clinic still has to follow the call up.
    assert await _status(db, call.sid) == "needs_human"
    audited = await rows(
        db,
        "SELECT action FROM audit_log WHERE tenant_id = :t AND action IN "
        "('conversation.emergency_alert', 'triage.connected')",
        t=tenant.id,
    )
    assert sorted(a["action"] for a in audited) == ["conversation.emergency_alert", "triage.connected"]


async def test_press_2_puts_an_emergency_through_to_the_clinic_and_a_transfer_clears_needs_human(
    db, make_tenant, settings
):
    staff = new_phone("617")
    tenant = await make_tenant(settings={"staff_phone": staff})
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        emergency = Caller(phones, practice)
        await emergency.dial()
        await emergency.say("he collapsed and he's not breathing")
        assert "Press 2 to be connected to the clinic." in emergency.heard
        await emergency.say(digits="2")
        assert emergency.last.findtext("Dial") == staff and "Connecting you to the clinic" in emergency.heard

        # Asking for a person flags the conversation; once put through, a person has the caller.
        person = Caller(phones, practice)
        await person.dial()
        await person.say("I'd like to talk to a person please")
        assert person.last.findtext("Dial") == staff
    assert await _status(db, emergency.sid) == "open"
    assert await _status(db, person.sid) == "open"
    ends = await rows(
        db,
        "SELECT call_sid, end_reason FROM voice_calls WHERE call_sid IN (:a, :b)",
        a=emergency.sid,
        b=person.sid,
    )
    assert {r["end_reason"] for r in ends} == {"transferred"}


async def test_without_a_staff_number_only_the_emergency_number_is_offered_and_said_by_name(
    db, tenant, settings
):
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth))
        await call.dial()
        await call.say(STROKE)
        assert "Press 1, or say emergency" in call.heard and "Press 2" not in call.heard
        await call.say(digits="2")  # not on offer: chooses nothing, and the offer is said again
        assert "there's no option two" in call.heard and "Press 1, or say emergency" in call.heard
        assert call.last.find("Dial") is None
        await call.say("emergency please")
        assert call.last.findtext("Dial") == "911"


async def test_a_possible_emergency_is_answered_by_keypad(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        not_now = Caller(phones, practice)
        await not_now.dial()
        await not_now.say("I feel like I might pass out")
        heard = not_now.heard
        assert "Is this happening right now? Press 1 or say yes if it is. Press 2 or say no" in heard
        assert heard.count("9 1 1") == 1 and not SCREEN_WORDS.search(heard), heard
        await not_now.say(digits="2")
        assert "If it does happen, call 9 1 1 straight away." in not_now.heard
        assert not_now.gather is not None and not_now.last.find("Dial") is None

        now = Caller(phones, practice)
        await now.dial()
        await now.say("I feel like I might pass out")
        await now.say(digits="1")
        assert "Press 1, or say emergency, to be connected to 9 1 1 now." in now.heard
        await now.say(digits="1")
        assert now.last.findtext("Dial") == "911"
    flagged = await rows(
        db,
        "SELECT c.triage_band FROM conversations c JOIN voice_calls v ON v.conversation_id = c.id "
        "WHERE v.call_sid IN (:a, :b) ORDER BY v.call_sid = :b",
        a=not_now.sid,
        b=now.sid,
    )
    assert [f["triage_band"] for f in flagged] == [None, "emergency"]


async def test_a_possible_emergency_on_a_call_says_how_to_get_help_now(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        crisis = Caller(phones, practice)
        await crisis.dial()
        await crisis.say("I have been feeling hopeless and thinking about ending it")
        heard = crisis.heard
        # As on the web and by text: the emergency number and the crisis line, before the question.
        assert "hang up and call 9 1 1 now, or go to the nearest emergency department" in heard, heard
        assert "reach a crisis line, any time: call or text 9 8 8" in heard, heard
        assert heard.index("9 8 8") < heard.index("Is this happening right now?")
        assert not SCREEN_WORDS.search(heard), heard

        faint = Caller(phones, practice)
        await faint.dial()
        await faint.say("I feel like I might pass out")
        assert "nearest emergency department" in faint.heard and "crisis line" not in faint.heard
