"""The patient's yes before a booking is the policy's rule on every channel: a "1" to the numbered
(or keypad) confirm option is a yes; a digit that answered another question never is."""

from __future__ import annotations

from tests.conftest import at, local_day
from tests.support.chat import open_chat
from tests.support.db import rows


async def appointments(db, tenant):
    return await rows(db, "SELECT status FROM appointments WHERE tenant_id = :t", t=tenant.id)


async def test_a_keypad_one_to_the_summary_books_it(db, tenant):
    chat = await open_chat(
        db, tenant.id, at(local_day(3), "08:00"), channel="voice", channel_phone="+16175550155"
    )
    await chat.say("check-up tomorrow afternoon")
    await chat.tap(chat.time_chips[0]["label"])
    await chat.say("Jane Doe")
    summary = await chat.say("617-555-0155")
    assert "Please confirm" in summary and chat.chips[0]["value"] == "yes"
    assert "booked" in (await chat.say("1")).lower()  # Twilio's Digits: the first option
    assert await appointments(db, tenant) == [{"status": "booked"}]


async def test_a_digit_that_answered_another_question_is_not_a_yes(db, tenant):
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.hold_with_details()
    await chat.say("what are your opening hours?")  # the menu's options are on the table now
    reply = await chat.say("1")
    assert "booked" not in reply.lower() and await appointments(db, tenant) == []
    denied = await rows(
        db,
        "SELECT details->>'rule' AS rule FROM audit_log WHERE tenant_id = :t AND action = 'policy.denied' "
        "AND entity_id = 'confirm_booking'",
        t=tenant.id,
    )
    assert {d["rule"] for d in denied} == {"booking.explicit_confirmation"}


async def test_a_changed_detail_needs_a_new_yes(db, tenant):
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    first = await chat.hold_with_details(contact="617-555-0177")
    assert "+16175550177" in first and "Shall I book it?" in first
    changed = await chat.say("actually my e-mail is jane@example.com instead")
    assert "jane@example.com" in changed and "Shall I book" in changed  # a new summary, a new question
    assert await appointments(db, tenant) == []
    assert "booked" in (await chat.say("yes")).lower()
    [customer] = await rows(db, "SELECT email FROM customers WHERE tenant_id = :t", t=tenant.id)
    assert customer["email"] == "jane@example.com"


async def test_no_texts_is_a_new_summary_and_the_patient_is_not_texted(db, tenant):
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.hold_with_details()
    changed = await chat.say("book it, but please don't text me")
    assert "no texts" in changed and "Shall I book" in changed
    assert "booked" in (await chat.say("yes")).lower()
    [customer] = await rows(
        db, "SELECT sms_consent, sms_consent_source FROM customers WHERE tenant_id = :t", t=tenant.id
    )
    assert customer == {"sms_consent": False, "sms_consent_source": "chat"}
