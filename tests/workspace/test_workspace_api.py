"""What the workspace does, as API calls a clinic's own software can make too: changing the
catalogue, taking a conversation over and back, patients found, corrected, exported and erased,
failed messages retried or cancelled, the audit log read."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import at, local_day
from tests.support.chat import open_chat
from tests.support.db import rows, scalar
from tests.support.messaging import book_at, new_phone, queue
from tests.support.phone import phone_lines
from tests.support.workspace import new_clinic


async def test_providers_hours_and_services_change_and_availability_follows(client):
    owner = await new_clinic(client)
    h = owner.headers()
    made = await owner.http.post(
        "/api/v1/providers",
        json={
            "name": "Dr. Iris Novak",
            "hours": [{"weekday": "mon", "opens_at": "09:00", "closes_at": "11:00"}],
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    provider = made.json()
    again = await owner.http.post("/api/v1/providers", json={"name": "Dr. Iris Novak"}, headers=h)
    assert again.status_code == 409

    week = [
        {"weekday": "tue", "opens_at": "08:00", "closes_at": "10:00"},
        {"weekday": "tue", "opens_at": "11:00", "closes_at": "12:00"},
    ]
    hours = await owner.http.put(f"/api/v1/providers/{provider['id']}/hours", json={"hours": week}, headers=h)
    assert hours.status_code == 200 and [x["weekday"] for x in hours.json()["hours"]] == ["tue", "tue"]
    overlapping = [*week, {"weekday": "tue", "opens_at": "09:30", "closes_at": "10:30"}]
    bad = await owner.http.put(
        f"/api/v1/providers/{provider['id']}/hours", json={"hours": overlapping}, headers=h
    )
    assert bad.status_code == 422 and "overlap" in bad.json()["error"]["message"]

    service = await owner.http.post(
        "/api/v1/services",
        json={
            "name": "Sports massage",
            "duration_minutes": 60,
            "aliases": ["massage"],
            "providers": ["Dr. Iris Novak"],
        },
        headers=h,
    )
    assert service.status_code == 201 and service.json()["provider_ids"] == [provider["id"]]
    tuesday = next(local_day(n) for n in range(1, 9) if local_day(n).weekday() == 1)
    free = await owner.http.get(
        "/api/v1/availability", params={"service_id": service.json()["id"], "from": str(tuesday)}
    )
    # 08:00-10:00 and 11:00-12:00: an hour fits at 8:00 … 9:00 and at 11:00, never across the break.
    starts = [slot["local_time"] for slot in free.json()["slots"]]
    assert starts[0] == "08:00" and "09:15" not in starts and starts[-1] == "11:00"

    off = await owner.http.patch(
        f"/api/v1/services/{service.json()['id']}", json={"active": False}, headers=h
    )
    assert off.status_code == 200
    listed = await owner.http.get("/api/v1/services")
    assert "Sports massage" not in [s["name"] for s in listed.json()]
    everything = await owner.http.get("/api/v1/services", params={"include_inactive": "true"})
    assert "Sports massage" in [s["name"] for s in everything.json()]


async def test_a_taken_over_conversation_gets_no_receptionist_replies_until_handed_back(client, db):
    owner = await new_clinic(client)
    chat = await open_chat(db, owner.tenant_id, datetime.now(UTC))
    await chat.say("I want to talk to a person")
    waiting = (await owner.http.get("/api/v1/conversations", params={"status": "needs_human"})).json()
    assert waiting["waiting"] == 1 and waiting["items"][0]["id"] == str(chat.conversation_id)

    path = f"/api/v1/conversations/{chat.conversation_id}"
    refused = await owner.http.post(f"{path}/messages", json={"text": "Hello"}, headers=owner.headers())
    assert refused.status_code == 409
    taken = await owner.http.post(f"{path}/takeover", headers=owner.headers())
    assert taken.status_code == 200 and taken.json()["handler"] == "staff"
    assert "has joined the conversation" in taken.json()["messages"][-1]["text"]
    # The receptionist stays silent: the patient's message is stored and nothing answers it.
    assert await chat.say("are you there?") == ""
    sent = await owner.http.post(
        f"{path}/messages", json={"text": "Hi, this is Olive."}, headers=owner.headers()
    )
    assert sent.status_code == 201 and sent.json()["message"]["author"] == "Olive"
    roles = [m["role"] for m in (await owner.http.get(path)).json()["messages"]]
    assert roles[-3:] == ["system", "patient", "staff"]

    back = await owner.http.post(f"{path}/handback", headers=owner.headers())
    assert back.status_code == 200 and back.json()["handler"] == "receptionist"
    assert "Mon" in await chat.say("what are your opening hours?")
    # With a secret key there is no member of staff to hand it to.
    keyed = await client.post(f"{path}/takeover", headers={"Authorization": f"Bearer {owner.api_key}"})
    assert keyed.status_code == 422


async def test_a_staff_reply_by_text_goes_through_the_outbox_and_reaches_the_phone(client, db, settings):
    owner = await new_clinic(client)
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number({"Authorization": f"Bearer {owner.api_key}"})
        patient = new_phone()
        await phones.say(patient, practice, "can I speak to a human please")
        [conversation] = (await owner.http.get("/api/v1/conversations", params={"channel": "sms"})).json()[
            "items"
        ]
        path = f"/api/v1/conversations/{conversation['id']}"
        assert (await owner.http.post(f"{path}/takeover", headers=owner.headers())).status_code == 200
        too_long = await owner.http.post(
            f"{path}/messages", json={"text": "x" * 600}, headers=owner.headers()
        )
        assert too_long.status_code == 422 and "text messages long" in too_long.json()["error"]["message"]
        reply = await owner.http.post(
            f"{path}/messages",
            json={"text": "Hi! Olive here. How can I help?", "urgent": True},
            headers=owner.headers(),
        )
        assert reply.status_code == 201 and reply.json()["outbox_id"]
        quiet = await phones.say(patient, practice, "I need to move my visit")
        assert "Olive here" in quiet and "I need to move" not in quiet  # only the staff reply came back


async def test_patients_are_found_corrected_exported_and_erased_everywhere(client, db):
    owner = await new_clinic(client)
    phone, name = new_phone(), "Zelda Quartermaine"
    services = (await owner.http.get("/api/v1/services")).json()
    appointment = await book_at(
        db,
        owner.tenant_id,
        services[0]["id"],
        at(local_day(3), "10:00"),
        datetime.now(UTC),
        phone=phone,
        name=name,
    )
    for q in ("quarter", phone, appointment.reference.lower()):
        found = (await owner.http.get("/api/v1/customers", params={"q": q})).json()["items"]
        assert [c["name"] for c in found] == [name], q
    customer = f"/api/v1/customers/{appointment.customer_id}"
    fixed = await owner.http.patch(customer, json={"email": "zelda@example.com"}, headers=owner.headers())
    assert fixed.status_code == 200 and fixed.json()["email"] == "zelda@example.com"

    exported = await owner.http.get(f"{customer}/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    body = exported.json()
    assert body["patient"]["phone"] == phone and body["appointments"][0]["reference"] == appointment.reference
    assert any(m["to"] == phone for m in body["messages"])

    erased = await owner.http.post(f"{customer}/erase", headers=owner.headers())
    assert erased.status_code == 200
    assert (await owner.http.post(f"{customer}/erase", headers=owner.headers())).status_code == 409
    for needle in (name, phone, "zelda@example.com", "Quartermaine"):
        assert await rows_mentioning(db, needle) == [], needle
    [kept] = await rows(db, "SELECT status, customer_id FROM appointments WHERE id = :a", a=appointment.id)
    assert kept["customer_id"] == appointment.customer_id  # the visit stays, anonymous
    actions = await rows(
        db, "SELECT action FROM audit_log WHERE entity_id = :c", c=str(appointment.customer_id)
    )
    assert "customer.erased" in [a["action"] for a in actions]


async def rows_mentioning(db, needle: str) -> list[str]:
    """Every table whose rows, as text, contain `needle` (the whole database, not a chosen list)."""
    tables = await rows(
        db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
    )
    found = []
    for table in (t["tablename"] for t in tables):
        if await scalar(db, f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE :n', n=f"%{needle}%"):
            found.append(table)
    return found


async def test_failed_messages_are_retried_or_cancelled_and_the_audit_log_says_who(client, db):
    owner = await new_clinic(client)
    now = datetime.now(UTC)
    message_id = await queue(db, owner.tenant_id, now, new_phone())
    await scalar(
        db,
        "UPDATE notification_outbox SET status = 'permanently_failed', attempts = 5"
        " WHERE id = :i RETURNING 1",
        i=message_id,
    )
    retried = await owner.http.post(f"/api/v1/notifications/{message_id}/retry", headers=owner.headers())
    assert (
        retried.status_code == 200
        and retried.json()["status"] == "pending"
        and retried.json()["attempts"] == 0
    )
    cancelled = await owner.http.post(f"/api/v1/notifications/{message_id}/cancel", headers=owner.headers())
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await owner.http.post(f"/api/v1/notifications/{message_id}/retry", headers=owner.headers())
    assert again.status_code == 409

    log = (await owner.http.get("/api/v1/audit-log", params={"action": "message.", "limit": 1})).json()
    assert [e["action"] for e in log["items"]] == ["message.cancelled"] and log["next_cursor"]
    older = (
        await owner.http.get("/api/v1/audit-log", params={"action": "message.", "cursor": log["next_cursor"]})
    ).json()
    assert [e["action"] for e in older["items"]] == ["message.retried"]
    assert older["items"][0]["actor"].startswith("staff:")
