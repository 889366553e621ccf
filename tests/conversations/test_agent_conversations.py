"""Conversations with the deterministic engine, through the real turn pipeline, database and policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent.loop import Agent
from backend.conversations.turns import Turns
from backend.core.errors import RateLimited
from tests.conftest import at, local_day
from tests.support.chat import open_chat
from tests.support.db import rows, scalar

MORNING = "08:00"


def start_of(day_offset: int):
    return at(local_day(day_offset), MORNING)


async def book_by_chat(chat, phone="617-555-0100", ask="I'd like to book a check-up tomorrow afternoon"):
    await chat.hold_with_details(ask=ask, contact=phone)
    reply = await chat.say("yes")
    return reply, chat.card


async def appointments_of(db, tenant_id):
    return await rows(
        db,
        "SELECT a.reference, a.status, a.starts_at, c.name, c.phone FROM appointments a "
        "JOIN customers c ON c.id = a.customer_id WHERE a.tenant_id = :t ORDER BY a.created_at",
        t=tenant_id,
    )


async def test_a_patient_books_with_chips_and_typing(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    greeting = await chat.say("hi")
    assert "book" in greeting and "Book an appointment" in [c["label"] for c in chat.chips]

    offer = await chat.say("I'd like to book a check-up tomorrow afternoon")
    assert "Check-up" in offer
    labels = [c["label"] for c in chat.time_chips]
    assert chat.chips[-1]["label"] == "More times"
    tomorrow = local_day(4)
    assert 1 <= len(labels) <= 6
    assert all(f"{tomorrow:%b} {tomorrow.day} at" in label and "PM" in label for label in labels)

    held = await chat.tap(labels[0])
    assert "holding" in held and "What name" in held
    assert "phone number or e-mail" in await chat.say("Jane Doe")
    confirm = await chat.say("617-555-0100")
    assert "Jane Doe" in confirm and "+16175550100" in confirm
    assert [c["value"] for c in chat.chips] == ["yes", "no texts", "no"]
    assert "we'll text you the confirmation and reminders" in confirm

    done = await chat.tap("Yes")
    card = chat.card
    assert "You're booked" in done and card["reference"] in done
    assert card["service"] == "Check-up" and card["status"] == "booked" and "1:00 PM" in card["when"]
    [appointment] = await appointments_of(db, tenant.id)
    assert appointment["reference"] == card["reference"]
    assert (appointment["name"], appointment["phone"], appointment["status"]) == (
        "Jane Doe",
        "+16175550100",
        "booked",
    )
    assert appointment["starts_at"] == at(tomorrow, "13:00")
    [consent] = await rows(
        db, "SELECT sms_consent, sms_consent_source FROM customers WHERE tenant_id = :t", t=tenant.id
    )
    assert consent == {"sms_consent": True, "sms_consent_source": "chat"}

    decisions = await rows(
        db,
        "SELECT action, entity_id, details FROM audit_log WHERE tenant_id = :t AND action LIKE 'policy.%' "
        "ORDER BY id",
        t=tenant.id,
    )
    tools = [(d["action"], d["entity_id"], d["details"]["rule"]) for d in decisions]
    assert ("policy.allowed", "hold_slot", "tool.hold_slot") in tools
    assert ("policy.allowed", "confirm_booking", "tool.confirm_booking") in tools
    confirm_args = next(d["details"]["args"] for d in decisions if d["entity_id"] == "confirm_booking")
    assert confirm_args["name"] != "Jane Doe" and "5550100" not in confirm_args["phone"]


async def test_an_exact_free_time_is_held_at_once_and_a_taken_one_offers_others(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    day = local_day(5)
    held = await chat.say(f"Can I book a consultation on {day:%b} {day.day} at 10am?")
    assert f"holding {day:%a, %b} {day.day} at 10:00 AM" in held

    other = await open_chat(db, tenant.id, start_of(3))
    await other.say("consult please")
    reply = await other.say(f"{day:%B} {day.day} at 10:00 with anyone")  # the other provider is free
    assert "holding" in reply and "10:00 AM" in reply
    third = await open_chat(db, tenant.id, start_of(3))
    await third.say("consultation")
    reply = await third.say(f"{day:%b} {day.day} at 10am")
    assert "10:00 AM isn't available" in reply
    taken = f"{day:%b} {day.day} at 10:00 AM"
    assert chat.chips == [] and third.time_chips and all(taken not in c["label"] for c in third.chips)


async def test_a_slot_taken_meanwhile_gets_fresh_alternatives(db, tenant, client):
    chat = await open_chat(db, tenant.id, start_of(3))
    await chat.say("check-up tomorrow morning")
    first = chat.chips[0]
    taken = first["value"].removeprefix("slot:")
    response = await client.post(
        "/api/v1/bookings",
        headers=tenant.auth,
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": taken,
            "customer": {"name": "Walk In", "email": "walkin@example.com"},
        },
    )
    assert response.status_code == 201, response.text
    reply = await chat.tap(first["label"])
    assert "just taken" in reply
    assert chat.chips and first["label"] not in [c["label"] for c in chat.chips]


async def test_reschedule_and_cancel_in_the_conversation_that_booked(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    _, card = await book_by_chat(chat)
    question = await chat.say("I need to reschedule")
    assert "Here are the first free times I can move it to" in question and chat.chips
    await chat.say(f"{local_day(6):%A} morning")
    new_label = chat.chips[0]["label"]
    asked = await chat.tap(new_label)
    assert asked.startswith("Shall I move your Check-up from") and "to" in asked
    moved = await chat.say("yes")
    assert "Done!" in moved and card["reference"] in moved
    [appointment] = await appointments_of(db, tenant.id)
    assert appointment["starts_at"].date() == local_day(6) and appointment["reference"] == card["reference"]

    ask = await chat.say("please cancel my appointment")
    assert "Reply yes to cancel" in ask
    kept = await chat.say("no")
    assert "kept your appointment" in kept
    assert (await appointments_of(db, tenant.id))[0]["status"] == "booked"

    await chat.say("cancel it")
    cancelled = await chat.tap("Yes, cancel it")
    assert "is cancelled" in cancelled and chat.card["status"] == "cancelled"
    assert (await appointments_of(db, tenant.id))[0]["status"] == "cancelled"
    denied_first = await scalar(
        db,
        "SELECT count(*) FROM audit_log WHERE tenant_id = :t AND action = 'policy.denied' "
        "AND details->>'rule' = 'cancel.explicit_confirmation'",
        t=tenant.id,
    )
    assert denied_first == 2  # asked twice before each answer; only the later "yes" was allowed


async def test_a_new_conversation_needs_reference_and_contact_on_file(db, tenant):
    _, card = await book_by_chat(await open_chat(db, tenant.id, start_of(3)))
    reference = card["reference"]

    stranger = await open_chat(db, tenant.id, start_of(3))
    assert "booking reference" in await stranger.say("when is my appointment?")
    assert "phone number or e-mail" in await stranger.say(reference.lower())
    refused = await stranger.say("617-555-0199")
    assert "couldn't find a booking" in refused and "Check-up" not in refused
    denied = await rows(
        db,
        "SELECT details FROM audit_log WHERE tenant_id = :t AND action = 'policy.denied' AND "
        "entity_id = 'lookup_booking'",
        t=tenant.id,
    )
    assert [d["details"]["rule"] for d in denied] == ["identity.own_booking"]

    owner = await open_chat(db, tenant.id, start_of(3))
    await owner.say("I want to cancel")
    found = await owner.say(f"it's {reference} and my number is (617) 555-0100")
    assert "Reply yes to cancel" in found
    await owner.say("yes")
    assert (await appointments_of(db, tenant.id))[0]["status"] == "cancelled"


async def test_someone_elses_booking_cannot_be_changed_from_a_verified_conversation(db, tenant):
    _, theirs = await book_by_chat(await open_chat(db, tenant.id, start_of(3)), phone="617-555-0111")
    mine = await open_chat(db, tenant.id, start_of(3))
    await book_by_chat(mine, phone="617-555-0122", ask="book a consultation tomorrow morning")
    reply = await mine.say(f"cancel booking {theirs['reference']}")
    assert "phone number or e-mail on booking" in reply  # verified as someone else: must prove it
    reply = await mine.say("617-555-0122")
    assert "couldn't find a booking" in reply
    statuses = [a["status"] for a in await appointments_of(db, tenant.id)]
    assert statuses == ["booked", "booked"]


async def test_far_dates_need_confirmation_and_past_dates_are_refused(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    far = local_day(50)
    ask = await chat.say(f"book a check-up on {far.isoformat()}")
    assert "more than 30 days away" in ask
    offer = await chat.say("yes")
    assert chat.time_chips and all(f"{far:%b} {far.day} at" in c["label"] for c in chat.time_chips), offer

    past = local_day(1)
    reply = await chat.say(f"actually, book a check-up on {past.isoformat()}")
    assert "already passed" in reply
    rules = await rows(
        db,
        "SELECT details->>'rule' AS rule FROM audit_log WHERE tenant_id = :t AND action = 'policy.denied'",
        t=tenant.id,
    )
    assert {"dates.far_future_confirmation", "dates.no_past"} <= {r["rule"] for r in rules}


async def test_an_emergency_gets_the_safety_message_and_no_tool_runs(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    await chat.hold_with_details()
    before = await scalar(db, "SELECT count(*) FROM audit_log WHERE tenant_id = :t", t=tenant.id)
    reply = await chat.say("yes but I have chest pain and I can't breathe")
    assert "911" in reply and "emergency" in reply
    after = await rows(
        db, "SELECT action, details FROM audit_log WHERE tenant_id = :t ORDER BY id", t=tenant.id
    )
    new = after[before:]
    assert [r["action"] for r in new] == ["triage.emergency", "conversation.emergency_alert"]
    assert new[0]["details"]["category"] == new[1]["details"]["category"] == "cardiac"
    assert await appointments_of(db, tenant.id) == []

    near_miss = await chat.say("can I get my chest x-ray results?")
    assert "911" not in near_miss


async def test_hours_waitlist_and_a_human(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    hours = await chat.say("what are your opening hours?")
    assert "Mon-Sun: 9:00 AM-12:00 PM, 1:00 PM-5:00 PM" in hours

    assert "Which service" in await chat.say("put me on the waitlist")
    await chat.tap("Cleaning")
    await chat.say("Jane Doe")
    joined = await chat.say("jane@example.com")
    assert "waiting list for Cleaning" in joined
    [entry] = await rows(
        db, "SELECT status, first_day, last_day FROM waitlist_entries WHERE tenant_id = :t", t=tenant.id
    )
    assert entry["status"] == "waiting" and (entry["last_day"] - entry["first_day"]).days == 13

    handed = await chat.say("can I talk to a real person?")
    assert "team" in handed
    status = await scalar(db, "SELECT status FROM conversations WHERE id = :c", c=chat.conversation_id)
    assert status == "needs_human"


async def test_a_restart_mid_booking_loses_nothing(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    await chat.say("check-up tomorrow afternoon")
    await chat.tap(chat.chips[1]["label"])
    await chat.say("Jane Doe")
    # A new process: new agent, new turn runner; only the database carries the conversation over.
    chat.turns = Turns(db, Agent(), lease_seconds=60, max_chars=2000)
    assert "Shall I book it?" in await chat.say("jane@example.com")
    assert "You're booked" in await chat.say("yes")
    history = await rows(
        db,
        "SELECT seq, role FROM conversation_messages WHERE conversation_id = :c ORDER BY seq",
        c=chat.conversation_id,
    )
    assert [h["seq"] for h in history] == list(range(1, len(history) + 1))
    assert [h["role"] for h in history].count("patient") == 5


async def test_a_resent_message_is_answered_once(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    await chat.hold_with_details()
    first = await chat.say("yes", client_message_id="m-42")
    again = await chat.say("yes", client_message_id="m-42")
    assert first == again and "You're booked" in again
    assert len(await appointments_of(db, tenant.id)) == 1
    patient_yes = await scalar(
        db,
        "SELECT count(*) FROM conversation_messages WHERE conversation_id = :c AND body = 'yes'",
        c=chat.conversation_id,
    )
    assert patient_yes == 1


async def test_an_expired_hold_is_not_confirmed(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    await chat.hold_with_details()
    chat.now += timedelta(minutes=6)
    reply = await chat.say("yes")
    assert "released" in reply and chat.chips
    assert await appointments_of(db, tenant.id) == []


async def test_staff_see_who_asked_for_a_person_and_what_was_said(db, tenant, make_tenant, client):
    chat = await open_chat(db, tenant.id, start_of(3))
    await chat.say("hello")
    quiet = await open_chat(db, tenant.id, start_of(3))  # not waiting for anyone
    await quiet.say("what are your opening hours?")
    await open_chat(db, tenant.id, start_of(3))  # a chat window opened and left: nothing to list
    await chat.say("I want to speak to someone at the clinic")

    waiting = await client.get("/api/v1/conversations?status=needs_human", headers=tenant.auth)
    assert waiting.status_code == 200
    assert [c["id"] for c in waiting.json()["items"]] == [str(chat.conversation_id)]
    assert waiting.json()["waiting"] == 1
    transcript = await client.get(
        f"/api/v1/conversations/{chat.conversation_id}/messages", headers=tenant.auth
    )
    said = [(m["role"], m["text"]) for m in transcript.json()]
    assert said[0] == ("patient", "hello") and said[2] == (
        "patient",
        "I want to speak to someone at the clinic",
    )
    assert len((await client.get("/api/v1/conversations", headers=tenant.auth)).json()["items"]) == 2

    other = await make_tenant()
    hidden = await client.get(f"/api/v1/conversations/{chat.conversation_id}/messages", headers=other.auth)
    assert hidden.status_code == 404
    assert (await client.get("/api/v1/conversations", headers=other.auth)).json()["items"] == []
    bad = await client.get("/api/v1/conversations?status=lost", headers=tenant.auth)
    assert bad.status_code == 422 and bad.json()["error"]["details"]["errors"][0]["field"] == "status"


async def test_a_conversation_sending_too_fast_is_told_to_wait_and_nothing_is_stored(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    chat.turns = Turns(db, Agent(), lease_seconds=60, max_chars=2000, messages_per_minute=3)
    for text in ("hi", "hours?", "thanks"):
        await chat.say(text)
    with pytest.raises(RateLimited, match="at most 3 messages a minute"):
        await chat.say("spam")
    stored = await scalar(
        db,
        "SELECT count(*) FROM conversation_messages WHERE conversation_id = :c AND body = 'spam'",
        c=chat.conversation_id,
    )
    assert stored == 0


async def test_a_past_stroke_does_not_lock_out_a_routine_booking_and_the_decision_is_audited(db, tenant):
    chat = await open_chat(db, tenant.id, start_of(3))
    reply = await chat.say("I had a stroke last year and I'd like a routine check-up tomorrow morning")
    assert "911" not in reply and "Check-up" in reply and chat.time_chips
    [row] = await rows(
        db,
        "SELECT details FROM audit_log WHERE tenant_id = :t AND action = 'triage.dismissed'",
        t=tenant.id,
    )
    assert (row["details"]["category"], row["details"]["set_aside"]) == ("stroke", "history")
    emergency = await chat.say("now my face is drooping and my speech is slurred")
    assert "911" in emergency and chat.chips == []
