"""What a conversation does for each triage band, and how the clinic is told: the real turn
pipeline, database, outbox and Redis presence."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from agent.loop import Agent
from backend.conversations.turns import Turns
from backend.webchat.live import SocketLive
from backend.webchat.presence import StaffPresence
from tests.conftest import at, local_day
from tests.support.chat import Chat, open_chat
from tests.support.db import rows, scalar
from tests.support.messaging import new_phone

EMERGENCY = "my husband just collapsed and he isn't breathing"
KNOCKED_OUT = "my son got his tooth knocked out at football"


async def on_call(client, tenant, phone: str | None = None, email: str = "alerts@clinic.example") -> str:
    phone = phone or new_phone("617")
    changed = await client.patch(
        "/api/v1/tenant/settings",
        json={"settings": {"on_call_phone": phone, "alert_email": email}},
        headers=tenant.auth,
    )
    assert changed.status_code == 200, changed.text
    return phone


async def flag_of(db, chat: Chat) -> dict:
    [row] = await rows(
        db,
        "SELECT triage_band, triage_category, triage_at FROM conversations WHERE id = :c",
        c=chat.conversation_id,
    )
    return row


async def alerts_of(db, tenant_id: str) -> list[dict]:
    return await rows(
        db,
        "SELECT channel, recipient, subject, body, urgent, status FROM notification_outbox "
        "WHERE tenant_id = :t AND kind = 'triage_alert' ORDER BY channel, recipient",
        t=tenant_id,
    )


async def events_of(db, tenant_id: str, prefix: str = "conversation.") -> list[dict]:
    return await rows(
        db,
        "SELECT type, version, entity_id, data FROM domain_events WHERE tenant_id = :t AND type LIKE :p "
        "AND type NOT IN ('conversation.started') ORDER BY id",
        t=tenant_id,
        p=f"{prefix}%",
    )


async def watched_chat(db, settings, tenant, now: datetime) -> tuple[Chat, StaffPresence]:
    """A chat whose turns know, through Redis, which of the clinic's staff are online."""
    chat = await open_chat(db, tenant.id, now)
    presence = StaffPresence(settings.redis_url)
    chat.turns = Turns(db, Agent(), 60, 2000, live=SocketLive(presence=presence))
    return chat, presence


async def test_an_emergency_mid_booking_tells_the_patient_and_alerts_the_clinic_once(db, client, tenant):
    phone = await on_call(client, tenant)
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.hold_with_details()

    reply = await chat.say(EMERGENCY)
    assert "911" in reply and "I've alerted the clinic and texted the person on call" in reply
    assert "no one is monitoring" not in reply and chat.chips == []
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 0
    flag = await flag_of(db, chat)
    category = flag["triage_category"]
    assert flag["triage_band"] == "emergency" and category

    [event] = await events_of(db, tenant.id)
    assert (event["type"], event["version"], event["entity_id"]) == (
        "conversation.emergency",
        1,
        str(chat.conversation_id),
    )
    assert event["data"] == {
        "conversation_id": str(chat.conversation_id),
        "channel": "web",
        "category": category,
    }
    sent = await alerts_of(db, tenant.id)
    assert [(m["channel"], m["recipient"], m["urgent"]) for m in sent] == [
        ("email", "alerts@clinic.example", True),
        ("sms", phone, True),
    ]
    assert f"EMERGENCY ({category.replace('_', ' ')}) flagged in a web chat" in sent[1]["body"]
    assert f"/app/inbox?open={chat.conversation_id}" in sent[1]["body"]
    assert sent[0]["subject"] == "Test Clinic: possible emergency flagged in a web chat"
    for message in sent:  # the patient's words never leave in an alert
        assert "collapsed" not in message["body"] and "husband" not in message["body"]
    [audited] = await rows(
        db,
        "SELECT details FROM audit_log WHERE tenant_id = :t AND action = 'conversation.emergency_alert'",
        t=tenant.id,
    )
    assert audited["details"]["category"] == category and audited["details"]["on_call_texted"] is True

    # The patient keeps writing: still the safety message, but no second alert.
    again = await chat.say("he's still not breathing, please help")
    assert "911" in again and "I've alerted the clinic" in again
    assert len(await alerts_of(db, tenant.id)) == 2
    assert len(await events_of(db, tenant.id)) == 1


async def test_the_patient_hears_whether_anyone_at_the_clinic_is_online(db, settings, tenant):
    chat, presence = await watched_chat(db, settings, tenant, at(local_day(3), "08:00"))
    nobody = await chat.say(EMERGENCY)
    assert "but no one is watching this conversation right now" in nobody

    staff_browser = f"sid-{uuid.uuid4().hex}"
    await presence.arrived(staff_browser, uuid.UUID(tenant.id))
    try:
        someone = await chat.say("he's still not breathing")
        assert "a member of staff is online now and can see this conversation" in someone
        assert "no one" not in someone
    finally:
        await presence.left(staff_browser)
    assert "no one is watching" in await chat.say("still not breathing")
    await presence.close()


async def test_an_urgent_dental_problem_gets_first_aid_and_the_earliest_time_today_first(db, client, tenant):
    await on_call(client, tenant)
    day, now = local_day(3), at(local_day(3), "10:07")
    found = await client.get(
        "/api/v1/availability",
        params={"service_id": tenant.services["Check-up"], "from": day.isoformat()},
        headers=tenant.auth,
    )
    earliest = min(
        (s for s in found.json()["slots"] if datetime.fromisoformat(s["starts_at"]) > now),
        key=lambda s: s["starts_at"],
    )
    chat = await open_chat(db, tenant.id, now)

    reply = await chat.say(KNOCKED_OUT)
    assert "milk" in reply and "I've alerted the clinic" in reply
    assert "The earliest time today is 10:15 AM with Dr. Adams" in reply
    first, person = chat.chips
    assert datetime.fromisoformat(first["value"].removeprefix("slot:")) == datetime.fromisoformat(
        earliest["starts_at"]
    )
    assert person["label"] == "Talk to a person"
    assert (await flag_of(db, chat))["triage_band"] == "urgent"
    assert [e["type"] for e in await events_of(db, tenant.id)] == ["conversation.urgent"]
    assert {m["channel"] for m in await alerts_of(db, tenant.id)} == {"sms", "email"}

    held = await chat.say("yes please")
    assert "I'm holding" in held and "10:15 AM" in held
    [hold] = await rows(
        db, "SELECT starts_at FROM holds WHERE tenant_id = :t AND status = 'active'", t=tenant.id
    )
    assert hold["starts_at"] == datetime.fromisoformat(earliest["starts_at"])

    # Worse news later in the same conversation is an emergency: the clinic is told again.
    await chat.say("now his face is swelling up and he can't breathe")
    assert (await flag_of(db, chat))["triage_band"] == "emergency"
    assert [e["type"] for e in await events_of(db, tenant.id)] == [
        "conversation.urgent",
        "conversation.emergency",
    ]


async def test_an_urgent_problem_with_a_request_keeps_the_request_after_the_time_today(db, tenant):
    day = local_day(10)
    chat = await open_chat(db, tenant.id, at(local_day(3), "10:07"))
    reply = await chat.say(f"could I come in for a check-up with a broken tooth on {day:%B} {day.day}?")
    first, then = chat.replies
    assert first.text.startswith("That needs a dentist today.") and "I've alerted the clinic" in first.text
    assert 'The earliest time today is 10:15 AM with Dr. Adams: say "today"' in first.text
    assert f"{day:%B} {day.day}" in then.text and chat.time_chips  # what they asked for, on their day
    assert (await flag_of(db, chat))["triage_band"] == "urgent", reply
    await chat.say("today please")
    assert chat.time_chips[0]["label"].endswith("at 10:15 AM")


async def test_an_urgent_problem_with_no_time_left_today_goes_to_a_person(db, tenant):
    chat = await open_chat(db, tenant.id, at(local_day(3), "16:50"))
    reply = await chat.say(KNOCKED_OUT)
    assert "no free time left today" in reply and "asked the team to get back to you" in reply
    status = await scalar(db, "SELECT status FROM conversations WHERE id = :c", c=chat.conversation_id)
    assert status == "needs_human"


@pytest.mark.parametrize(
    "message",
    [
        "I had a tooth knocked out last year and I'd like a check-up",
        "no chest pain or anything, just a cleaning please",
        "my husband collapsed last year, he's fine now; can we book a check-up?",
    ],
)
async def test_a_past_or_negated_sign_never_escalates_or_alerts(db, client, tenant, message):
    await on_call(client, tenant)
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    reply = await chat.say(message)
    assert "911" not in reply and "alerted" not in reply
    assert (await flag_of(db, chat))["triage_band"] is None
    assert await alerts_of(db, tenant.id) == [] and await events_of(db, tenant.id) == []


async def test_a_possible_emergency_asks_and_never_blocks_the_booking(db, client, tenant):
    await on_call(client, tenant)
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.hold_with_details()
    asked = await chat.say("I feel like I might pass out")
    assert "911" in asked and asked.endswith("Is this happening right now?")
    assert [c["label"] for c in chat.chips] == ["Yes, it's happening now", "No"]
    assert (await flag_of(db, chat))["triage_band"] is None and await alerts_of(db, tenant.id) == []

    carried_on = await chat.say("no")
    # Back where it was: the summary again, since a yes must answer it in the very next message.
    assert carried_on.startswith("Okay. If it does happen, call 911 straight away.\nShall I book Check-up")
    assert "You're booked!" in await chat.say("yes")
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def test_a_yes_to_the_question_is_an_emergency(db, client, tenant):
    await on_call(client, tenant)
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.say("I feel like I might pass out")
    escalated = await chat.say("1")  # the numbered option, as on SMS
    assert "I've alerted the clinic and texted the person on call" in escalated
    assert (await flag_of(db, chat))["triage_band"] == "emergency"
    assert [e["type"] for e in await events_of(db, tenant.id)] == ["conversation.emergency"]
