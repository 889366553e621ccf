"""Texts and calls to a clinic that has switched the channel off: texts reach the staff's inbox with
no automated answer; callers hear a short message and are put through to the staff number. Both
refusals are audited with the switch's rule."""

from __future__ import annotations

from types import SimpleNamespace
from xml.etree import ElementTree

from tests.support.db import rows, scalar
from tests.support.messaging import new_phone
from tests.support.phone import new_sid, phone_lines
from tests.support.workspace import new_clinic

STAFF_PHONE = "+16175550123"


async def denied(db, tenant_id: str, rule: str) -> list[dict]:
    return await rows(
        db,
        "SELECT actor, entity_type, details FROM audit_log WHERE tenant_id = :t "
        "AND action = 'policy.denied' AND details->>'rule' = :rule",
        t=tenant_id,
        rule=rule,
    )


async def test_texts_switched_off_reach_staff_without_an_automated_answer(client, db, settings):
    owner = await new_clinic(client, settings={"min_lead_minutes": 0, "sms_enabled": False})
    clinic = SimpleNamespace(id=owner.tenant_id, auth={"Authorization": f"Bearer {owner.api_key}"})
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(clinic.auth)
        assert await phones.say(patient, practice, "Hi, can I book a check-up tomorrow?") == ""
        assert await phones.say(patient, practice, "Hello?") == ""
    inbound = await rows(db, "SELECT status, handling FROM inbound_sms WHERE tenant_id = :t", t=clinic.id)
    assert inbound == [{"status": "answered", "handling": "staff"}] * 2
    [conversation] = await rows(
        db, "SELECT id, status FROM conversations WHERE tenant_id = :t AND channel = 'sms'", t=clinic.id
    )
    assert conversation["status"] == "needs_human"  # in the inbox, waiting for a person
    said = await rows(
        db,
        "SELECT role, body FROM conversation_messages WHERE conversation_id = :c ORDER BY seq",
        c=conversation["id"],
    )
    assert [m["role"] for m in said] == ["patient", "patient"]
    refusals = await denied(db, clinic.id, "switches.sms")
    assert len(refusals) == 2 and {r["entity_type"] for r in refusals} == {"conversation"}

    # A member of staff answers from the inbox: that text still goes.
    path = f"/api/v1/conversations/{conversation['id']}"
    async with phone_lines(db, settings) as phones:
        taken = await owner.http.post(f"{path}/takeover", headers=owner.headers())
        assert taken.status_code == 200, taken.text
        replied = await owner.http.post(
            f"{path}/messages",
            headers=owner.headers(),
            # Urgent: sent even in the patient's quiet hours, so the test holds at any hour.
            json={"text": "Hi, this is the front desk: tomorrow at 10 works.", "urgent": True},
        )
        assert replied.status_code == 201, replied.text
        await phones.settle()
        assert [m.body for m in phones.received(patient)] == [
            "Hi, this is the front desk: tomorrow at 10 works."
        ]


async def test_an_emergency_text_is_answered_and_the_clinic_alerted_with_texting_switched_off(
    client, db, settings
):
    owner = await new_clinic(client, settings={"min_lead_minutes": 0, "sms_enabled": False})
    clinic = SimpleNamespace(id=owner.tenant_id, auth={"Authorization": f"Bearer {owner.api_key}"})
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(clinic.auth)
        answer = await phones.say(patient, practice, "my husband collapsed and is not breathing")
        assert "911" in answer or "9 1 1" in answer
        assert await phones.say(patient, practice, "can I book a check-up next week?") == ""
    alerts = await rows(
        db,
        "SELECT action FROM audit_log WHERE tenant_id = :t AND action = 'conversation.emergency_alert'",
        t=clinic.id,
    )
    assert len(alerts) == 1
    [conversation] = await rows(
        db, "SELECT status FROM conversations WHERE tenant_id = :t AND channel = 'sms'", t=clinic.id
    )
    assert conversation["status"] == "needs_human"


async def test_calls_switched_off_go_to_the_staff_number(db, make_tenant, settings):
    clinic = await make_tenant(settings={"voice_enabled": False, "staff_phone": STAFF_PHONE})
    unstaffed = await make_tenant(settings={"voice_enabled": False})
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(clinic.auth)
        lonely = await phones.add_number(unstaffed.auth)
        sid = new_sid("CA")
        call = {"CallSid": sid, "From": new_phone(), "To": practice, "CallStatus": "ringing"}
        answer = await phones.post("/twilio/voice", call)
        assert answer.status_code == 200
        twiml = ElementTree.fromstring(answer.text)
        assert "not taking calls" in twiml.findtext("Say", "")
        assert twiml.findtext("Dial") == STAFF_PHONE
        repeated = await phones.post("/twilio/voice", call)  # Twilio retries: the same answer
        assert repeated.text == answer.text

        elsewhere = {"CallSid": new_sid("CA"), "From": new_phone(), "To": lonely, "CallStatus": "ringing"}
        goodbye = ElementTree.fromstring((await phones.post("/twilio/voice", elsewhere)).text)
        assert goodbye.find("Hangup") is not None and goodbye.find("Dial") is None
        # Nobody to put them through to: a caller in danger still hears where help is.
        assert "emergency, hang up and call 9 1 1" in " ".join(goodbye.itertext())
    assert await scalar(db, "SELECT end_reason FROM voice_calls WHERE call_sid = :s", s=sid) == "switched_off"
    [refusal] = await denied(db, clinic.id, "switches.voice")
    assert (refusal["entity_type"], refusal["actor"]) == ("voice_call", "patient:voice")


async def test_a_caller_is_not_offered_cancelling_when_it_is_switched_off(db, make_tenant, settings):
    clinic = await make_tenant(settings={"patients_may_cancel": False, "staff_phone": STAFF_PHONE})
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(clinic.auth)
        call = {"CallSid": new_sid("CA"), "From": new_phone(), "To": practice, "CallStatus": "ringing"}
        greeting = ElementTree.fromstring((await phones.post("/twilio/voice", call)).text)
    spoken = " ".join(text for text in greeting.itertext())
    assert "reschedule" in spoken.lower() and "cancel" not in spoken.lower()
