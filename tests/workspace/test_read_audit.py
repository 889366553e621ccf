"""Reads of personal data are audited: a patient's profile opened or read over the API
(`patient.viewed`), exported (`patient.exported`), a conversation or call transcript opened
(`conversation.viewed`), each once, with who and when and never what was read; the audit log
filters them."""

from __future__ import annotations

import uuid

from backend.conversations.models import Conversation, ConversationMessage
from tests.conftest import at, iso, local_day
from tests.support.db import rows, scalar
from tests.support.workspace import new_clinic


async def test_every_read_of_a_patient_or_a_conversation_is_audited_once(client, db):
    owner = await new_clinic(client)
    key = {"Authorization": f"Bearer {owner.api_key}"}
    services = (await client.get("/api/v1/services", headers=key)).json()
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": services[0]["id"],
            "starts_at": iso(at(local_day(4), "10:00")),
            "customer": {"name": "Rhea Reader", "phone": "(617) 555-0142"},
        },
        headers=key,
    )
    assert booked.status_code == 201, booked.text
    customer_id = str(
        await scalar(db, "SELECT customer_id FROM appointments WHERE id = :id", id=booked.json()["id"])
    )
    conversation_id = uuid.uuid4()

    async def conversation(session):
        session.add(
            Conversation(
                id=conversation_id,
                tenant_id=owner.tenant_id,
                channel="voice",
                state={},
                status="open",
                last_seq=1,
                handler="receptionist",
            )
        )
        await session.flush()
        session.add(
            ConversationMessage(
                conversation_id=conversation_id,
                tenant_id=owner.tenant_id,
                seq=1,
                role="patient",
                body="my secret symptom",
                payload={},
            )
        )

    await db.transaction(conversation)
    staff_id = await scalar(db, "SELECT id FROM staff_users WHERE email = :e", e=owner.email)

    assert (await owner.http.get(f"/app/patients/{customer_id}")).status_code == 200
    assert (await client.get(f"/api/v1/customers/{customer_id}", headers=key)).status_code == 200
    exported = await owner.http.get(f"/api/v1/customers/{customer_id}/export")
    assert exported.status_code == 200
    opened = await owner.http.get(f"/api/v1/conversations/{conversation_id}")
    assert opened.status_code == 200 and opened.json()["messages"][0]["text"] == "my secret symptom"
    assert (
        await client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=key)
    ).status_code == 200

    reads = await rows(
        db,
        "SELECT actor, action, entity_type, entity_id, details FROM audit_log"
        " WHERE tenant_id = :t AND action IN ('patient.viewed', 'patient.exported', 'conversation.viewed')"
        " ORDER BY id",
        t=owner.tenant_id,
    )
    assert [(r["actor"] == f"staff:{staff_id}", r["action"], r["entity_id"]) for r in reads] == [
        (True, "patient.viewed", customer_id),
        (False, "patient.viewed", customer_id),
        (True, "patient.exported", customer_id),
        (True, "conversation.viewed", str(conversation_id)),
        (False, "conversation.viewed", str(conversation_id)),
    ]
    assert reads[1]["actor"].startswith("key:") and reads[1]["actor"] == reads[4]["actor"]
    assert "symptom" not in str(reads) and "Rhea" not in str(reads) and "555" not in str(reads)
    assert reads[3]["details"] == {"channel": "voice"}

    filtered = await owner.http.get("/api/v1/audit-log", params={"reads": "true"})
    assert [e["action"] for e in filtered.json()["items"]] == [
        "conversation.viewed",
        "conversation.viewed",
        "patient.exported",
        "patient.viewed",
        "patient.viewed",
    ]
    page = await owner.http.get("/app/audit", params={"reads": "true"})
    assert page.status_code == 200 and page.text.count("<td>patient.viewed</td>") == 2
    assert "<td>tenant.created</td>" in (await owner.http.get("/app/audit")).text
    assert "<td>tenant.created</td>" not in page.text
