"""Each switch a clinic controls, end to end: what the receptionist says and offers, the refusal in
the audit log with the switch's rule, and (switched on) the behaviour it had before."""

from __future__ import annotations

from datetime import UTC

import pytest

from tests.conftest import at, local_day
from tests.conversations.test_llm_engine import llm_agent
from tests.fakes.openai_server import running_fake_openai
from tests.support.chat import open_chat
from tests.support.db import rows, scalar
from tests.support.messaging import book_at, new_email, new_phone, outbox_of, runner_for

STAFF_PHONE = "+16175550123"
BASE = {"min_lead_minutes": 0, "max_days_ahead": 400, "staff_phone": STAFF_PHONE}


def noon(days: int):
    return at(local_day(days), "12:00").astimezone(UTC)


async def denied(db, tenant_id: str, rule: str) -> list[dict]:
    return await rows(
        db,
        "SELECT actor, entity_type, entity_id, details FROM audit_log WHERE tenant_id = :t "
        "AND action = 'policy.denied' AND details->>'rule' = :rule ORDER BY id",
        t=tenant_id,
        rule=rule,
    )


def labels(chat) -> list[str]:
    return [c["label"] for c in chat.chips]


async def test_patients_may_cancel_off(db, make_tenant):
    clinic = await make_tenant(settings={**BASE, "patients_may_cancel": False})
    phone = new_phone()
    await book_at(db, clinic.id, clinic.services["Check-up"], at(local_day(5), "10:00"), noon(1), phone=phone)
    chat = await open_chat(db, clinic.id, noon(1), channel="sms", channel_phone=phone)

    menu = await chat.say("Hi")
    assert "Cancel" not in labels(chat) and "Reschedule" in labels(chat)
    assert f"To cancel, please call the clinic at {STAFF_PHONE}." in menu

    asked = await chat.say("I want to cancel my appointment")
    assert f"To cancel, please call the clinic at {STAFF_PHONE}." in asked
    assert await scalar(db, "SELECT status FROM appointments WHERE tenant_id = :t", t=clinic.id) == "booked"
    [refusal] = await denied(db, clinic.id, "switches.self_cancel")
    assert (refusal["entity_type"], refusal["entity_id"]) == ("tool_call", "cancel_booking")

    # Looked up, the booking is offered for moving only.
    await chat.say("When is my appointment?")
    assert "Cancel" not in labels(chat) and "Reschedule" in labels(chat)

    # Switched on (the default), the same patient is offered Cancel and asked to confirm it.
    other = await make_tenant(settings=BASE)
    await book_at(db, other.id, other.services["Check-up"], at(local_day(5), "10:00"), noon(1), phone=phone)
    usual = await open_chat(db, other.id, noon(1), channel="sms", channel_phone=phone)
    await usual.say("Hi")
    assert "Cancel" in labels(usual)
    assert "Reply yes to cancel it" in await usual.say("I want to cancel my appointment")


async def test_patients_may_reschedule_off(db, make_tenant):
    clinic = await make_tenant(settings={**BASE, "patients_may_reschedule": False})
    phone = new_phone()
    await book_at(db, clinic.id, clinic.services["Check-up"], at(local_day(5), "10:00"), noon(1), phone=phone)
    chat = await open_chat(db, clinic.id, noon(1), channel="sms", channel_phone=phone)

    await chat.say("Hi")
    assert "Reschedule" not in labels(chat) and "Cancel" in labels(chat)
    asked = await chat.say("Can I move my appointment to Friday?")
    assert f"To move an appointment, please call the clinic at {STAFF_PHONE}." in asked
    [refusal] = await denied(db, clinic.id, "switches.self_reschedule")
    assert refusal["entity_id"] == "reschedule_booking"


async def test_both_off_without_a_staff_phone_says_to_contact_the_clinic(db, make_tenant):
    settings = {"min_lead_minutes": 0, "patients_may_cancel": False, "patients_may_reschedule": False}
    clinic = await make_tenant(settings=settings)
    chat = await open_chat(db, clinic.id, noon(1))
    menu = await chat.say("Hi")
    assert "To cancel or move an appointment, please contact the clinic directly." in menu
    assert labels(chat)[0] == "Book an appointment"
    assert not {"Cancel", "Reschedule"} & set(labels(chat))


async def test_waitlist_off(db, make_tenant):
    clinic = await make_tenant(settings={**BASE, "waitlist_enabled": False})
    chat = await open_chat(db, clinic.id, noon(1))
    said = await chat.say("Please put me on the waiting list for a check-up")
    assert "Sorry, we don't keep a waiting list" in said
    assert await scalar(db, "SELECT count(*) FROM waitlist_entries WHERE tenant_id = :t", t=clinic.id) == 0
    [refusal] = await denied(db, clinic.id, "switches.waitlist")
    assert refusal["entity_id"] == "join_waitlist"


@pytest.mark.parametrize("enabled", [False, True])
async def test_language_model_switch(db, make_tenant, settings, enabled):
    clinic = await make_tenant(settings={**BASE, "language_model_enabled": enabled})
    async with running_fake_openai() as fake:
        chat = await open_chat(db, clinic.id, noon(1), agent=llm_agent(settings, fake))
        said = await chat.say("What are your opening hours?")
    assert "9:00 AM" in said  # read either way: by the model's acts or, switched off, by the rules
    refusals = await denied(db, clinic.id, "switches.language_model")
    if enabled:
        assert fake.requests and refusals == []
    else:
        assert fake.requests == []
        [refusal] = refusals
        assert refusal["entity_id"] == "read_with_language_model"


async def test_web_chat_off_tells_the_visitor_to_call(client, db, make_tenant):
    clinic = await make_tenant(settings={**BASE, "web_chat_enabled": False})
    page = "https://clinic.example"
    key = await client.post(
        "/api/v1/api-keys", headers=clinic.auth, json={"kind": "publishable", "allowed_origins": [page]}
    )
    opened = await client.post(
        "/api/v1/chat/sessions", headers={"X-Widget-Key": key.json()["key"], "Origin": page}, json={}
    )
    assert opened.status_code == 403
    assert f"please call the clinic at {STAFF_PHONE}" in opened.json()["error"]["message"]
    assert await scalar(db, "SELECT count(*) FROM conversations WHERE tenant_id = :t", t=clinic.id) == 0
    [refusal] = await denied(db, clinic.id, "switches.web_chat")
    assert (refusal["entity_type"], refusal["actor"]) == ("web_chat", "patient:web")

    switched_on = await client.patch(
        "/api/v1/tenant/settings", headers=clinic.auth, json={"settings": {"web_chat_enabled": True}}
    )
    assert switched_on.status_code == 200 and switched_on.json()["settings"]["web_chat_enabled"] is True
    again = await client.post(
        "/api/v1/chat/sessions", headers={"X-Widget-Key": key.json()["key"], "Origin": page}, json={}
    )
    assert again.status_code == 200


async def test_pausing_automated_messages_keeps_confirmations(db, make_tenant, settings):
    clinic = await make_tenant(settings={**BASE, "automated_messages_paused": True})
    start = at(local_day(5), "10:00")
    await book_at(
        db, clinic.id, clinic.services["Check-up"], start, noon(1), phone=new_phone(), email=new_email()
    )
    confirmations = await outbox_of(db, clinic.id, kind="confirmation")
    assert {m["status"] for m in confirmations} == {"pending"}  # what the patient just did is confirmed

    await runner_for(db, settings).run_due(at(local_day(3), "10:00"))
    reminders = await outbox_of(db, clinic.id, kind="reminder")
    assert reminders and {m["status"] for m in reminders} == {"suppressed"}
    assert all("switches.automated_paused" in m["error"] for m in reminders)
    refusals = await denied(db, clinic.id, "switches.automated_paused")
    assert {r["entity_id"] for r in refusals} == {"send_reminder"}


async def test_a_new_web_chat_is_greeted_with_the_menu_as_switched(client, make_tenant):
    page = "https://clinic.example"
    greeted = {}
    for may_cancel in (True, False):
        clinic = await make_tenant(settings={**BASE, "patients_may_cancel": may_cancel})
        key = await client.post(
            "/api/v1/api-keys", headers=clinic.auth, json={"kind": "publishable", "allowed_origins": [page]}
        )
        opened = await client.post(
            "/api/v1/chat/sessions", headers={"X-Widget-Key": key.json()["key"], "Origin": page}, json={}
        )
        greeted[may_cancel] = opened.json()["greeting"]
    assert [q["label"] for q in greeted[True]["quick_replies"]] == [
        "Book an appointment",
        "Reschedule",
        "Cancel",
        "Opening hours",
    ]
    assert "Cancel" not in [q["label"] for q in greeted[False]["quick_replies"]]
    assert greeted[False]["text"].endswith(f"To cancel, please call the clinic at {STAFF_PHONE}.")
