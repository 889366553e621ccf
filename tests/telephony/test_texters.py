"""What a texter trips over: signed Twilio webhooks through the real app, the worker's inbox and
dispatcher, and the texts that arrive at the local Twilio server."""

from __future__ import annotations

from tests.conftest import at, local_day
from tests.support.db import rows, scalar
from tests.support.messaging import book_at, new_phone, outbox_of
from tests.support.phone import phone_lines


async def test_cancel_from_a_patient_with_a_visit_opts_out_says_how_to_cancel_and_reaches_the_inbox(
    db, tenant, settings
):
    patient = new_phone()
    visit = await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(5), "11:00"),
        at(local_day(0), "00:01"),
        phone=patient,
    )
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        answer = await phones.say(patient, practice, "Cancel")
        # The carrier has unsubscribed them: so have we, and the one text we may send says how to
        # cancel the visit, which is still booked.
        assert "unsubscribed" in answer and "START" in answer
        assert "Check-up" in answer and "still booked" in answer and f"call us at {practice}" in answer
        assert await scalar(db, "SELECT status FROM appointments WHERE id = :id", id=visit.id) == "booked"
        assert await scalar(db, "SELECT source FROM sms_opt_outs WHERE phone = :p", p=patient) == "keyword"
        assert await scalar(db, "SELECT sms_consent FROM customers WHERE phone = :p", p=patient) is False

        # What they write next reaches no agent and no phone, but it reaches the staff inbox; HELP
        # is still answered (carriers require it).
        sent = len(phones.received(patient))
        await phones.text(patient, practice, "I meant cancel my appointment on the 5th please")
        await phones.settle()
        assert len(phones.received(patient)) == sent
        helped = await phones.say(patient, practice, "HELP")
        assert "Test Clinic" in helped and "STOP" in helped

    [thread] = await rows(
        db,
        "SELECT id, status FROM conversations WHERE tenant_id = :t AND patient_phone = :p",
        t=tenant.id,
        p=patient,
    )
    assert thread["status"] == "needs_human"
    said = await rows(
        db,
        "SELECT role, body FROM conversation_messages WHERE conversation_id = :c ORDER BY seq",
        c=thread["id"],
    )
    patient_said = [m["body"] for m in said if m["role"] == "patient"]
    assert patient_said == ["Cancel", "I meant cancel my appointment on the 5th please", "HELP"]
    assert [m["role"] for m in said].count("system") == 1 and "visit kept" in said[1]["body"]
    listed = await rows(
        db, "SELECT status FROM inbound_sms WHERE from_number = :p ORDER BY received_at", p=patient
    )
    assert [r["status"] for r in listed] == ["handled", "opted_out", "opted_out"]


async def test_stop_without_a_visit_is_a_plain_unsubscribe(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        answer = await phones.say(patient, practice, "CANCEL")
        assert "unsubscribed" in answer and "still booked" not in answer
    status = await scalar(
        db,
        "SELECT status FROM conversations WHERE tenant_id = :t AND patient_phone = :p",
        t=tenant.id,
        p=patient,
    )
    assert status is None  # no visit: nothing for staff to look at


async def test_a_booking_by_text_sends_one_booked_text_and_every_withheld_text_has_a_row(
    db, tenant, settings
):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        await phones.say(patient, practice, "Hi")
        await phones.say(patient, practice, "I'd like a check-up tomorrow afternoon")
        await phones.say(patient, practice, "1")
        await phones.say(patient, practice, "Jane Doe")
        booked = await phones.say(patient, practice, "yes")
        assert "You're booked!" in booked
        assert sum("booked" in m.body.lower() for m in phones.received(patient)) == 1
    [confirmation] = await outbox_of(db, tenant.id, kind="confirmation", recipient=patient)
    assert confirmation["status"] == "suppressed" and "one text, not two" in confirmation["error"]

    # A booking for an opted-out number made elsewhere (the API): its text withheld, with a row saying why.
    opted = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        await phones.say(opted, practice, "STOP")
    await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(5), "15:00"),
        at(local_day(0), "00:01"),
        phone=opted,
    )
    [withheld] = await outbox_of(db, tenant.id, kind="confirmation", recipient=opted)
    assert withheld["status"] == "suppressed" and "opted out" in withheld["error"]
