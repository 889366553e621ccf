"""Retention on a clock the test controls: each kind of row one minute past its clinic's period is
emptied or removed, one minute short of it is kept, another clinic's rows are not touched, the
appointments stay, old audit rows go to a JSON Lines archive, and the purge is audited once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from backend.conversations.models import Conversation, ConversationMessage
from backend.core.models import AuditLog
from backend.core.privacy import EXPIRED
from backend.messaging.models import OutboxMessage
from backend.retention import purge as retention
from backend.retention.archive import archive_dir
from backend.telephony.models import InboundSms, VoiceCall, VoiceTurn
from tests.conftest import at, iso, local_day
from tests.support.db import caller_for, rows, scalar
from tests.support.workspace import new_clinic

# A fixed "now", a while after every row the test writes.
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
PERIODS = {
    "retention_message_days": 30,
    "retention_call_days": 60,
    "retention_conversation_state_days": 10,
    "retention_outbox_days": 20,
    "retention_inbound_text_days": 15,
    "retention_audit_years": 1,
}
MINUTE = timedelta(minutes=1)


def ages(days: int) -> tuple[datetime, datetime]:
    """A moment just past `days` old at NOW, and one just short of it."""
    return NOW - timedelta(days=days) - MINUTE, NOW - timedelta(days=days) + MINUTE


async def seed(db, tenant_id: str, tag: str) -> dict[str, dict[str, object]]:
    """One row of each kind just past its period ("old") and one just short of it ("new")."""
    ids: dict[str, dict[str, object]] = {"old": {}, "new": {}}

    async def write(session):
        for which, index in (("old", 0), ("new", 1)):
            state_at = ages(PERIODS["retention_conversation_state_days"])[index]
            conversation = Conversation(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                channel="sms",
                status="open",
                state={"name": "Pat Patient"},
                last_seq=1,
                handler="receptionist",
                created_at=state_at,
                updated_at=state_at,
            )
            session.add(conversation)
            await session.flush()
            message = ConversationMessage(
                conversation_id=conversation.id,
                tenant_id=tenant_id,
                seq=1,
                role="patient",
                body=f"my tooth hurts {tag}",
                payload={"chips": ["x"]},
                created_at=ages(PERIODS["retention_message_days"])[index],
            )
            call_sid = f"CA{uuid.uuid4().hex}"
            call = VoiceCall(
                call_sid=call_sid,
                tenant_id=tenant_id,
                from_number="+16175550100",
                to_number="+16175550199",
                status="ended",
                started_at=ages(PERIODS["retention_call_days"])[index],
                updated_at=ages(PERIODS["retention_call_days"])[index],
            )
            session.add_all([message, call])
            await session.flush()
            turn = VoiceTurn(
                call_sid=call_sid,
                step=1,
                heard=f"I need a cleaning {tag}",
                twiml="<Response/>",
                created_at=ages(PERIODS["retention_message_days"])[index],
            )
            text = InboundSms(
                tenant_id=tenant_id,
                message_sid=f"SM{uuid.uuid4().hex}",
                from_number="+16175550100",
                to_number="+16175550199",
                body=f"hello {tag}",
                status="handled",
                received_at=ages(PERIODS["retention_inbound_text_days"])[index],
            )
            sent = OutboxMessage(
                tenant_id=tenant_id,
                kind="confirmation",
                channel="sms",
                recipient="+16175550100",
                recipient_timezone="America/New_York",
                body=f"See you soon {tag}",
                dedupe_key=f"test:{uuid.uuid4().hex}",
                status="sent",
                next_attempt_at=NOW,
                created_at=ages(PERIODS["retention_outbox_days"])[index],
            )
            audit_at = NOW.replace(year=NOW.year - 1) + (-MINUTE if which == "old" else MINUTE)
            entry = AuditLog(
                tenant_id=tenant_id,
                occurred_at=audit_at,
                actor="test",
                action=f"test.{which}",
                entity_type="test",
                details={"tag": tag},
            )
            session.add_all([turn, text, sent, entry])
            await session.flush()
            ids[which] = {
                "conversation": conversation.id,
                "message": message.id,
                "call": call_sid,
                "text": text.id,
                "outbox": sent.id,
                "audit": entry.id,
            }

    await db.transaction(write)
    return ids


@pytest.fixture
def retention_settings(settings, tmp_path):
    return settings.model_copy(update={"data_dir": tmp_path, "retention_batch_size": 1})


async def test_a_purge_removes_exactly_what_is_older_than_each_setting_and_keeps_appointments(
    client, make_tenant, db, retention_settings
):
    tenant = await make_tenant(settings={"min_lead_minutes": 0, "max_days_ahead": 400, **PERIODS})
    bystander = await make_tenant(settings={"min_lead_minutes": 0, "max_days_ahead": 400, **PERIODS})
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": iso(at(local_day(5), "10:00")),
            "customer": {"name": "Pat Patient", "phone": "(617) 555-0100"},
        },
        headers=tenant.auth,
    )
    assert booked.status_code == 201, booked.text
    await scalar(
        db,
        "UPDATE appointments SET created_at = :long_ago WHERE id = :id RETURNING 1",
        long_ago=NOW - timedelta(days=3000),
        id=booked.json()["id"],
    )
    mine = await seed(db, tenant.id, "mine")
    theirs = await seed(db, bystander.id, "theirs")
    context = (await caller_for(db, tenant.id)).tenant

    counts = await retention.purge(db, retention_settings, context, NOW)

    assert counts == {
        "message_bodies": 1,
        "call_transcripts": 1,
        "call_records": 1,
        "conversation_states": 1,
        "outbox_bodies": 1,
        "inbound_texts": 1,
        "audit_archived": 1,
    }
    for which, gone in (("old", True), ("new", False)):
        row = mine[which]
        body = await scalar(db, "SELECT body FROM conversation_messages WHERE id = :id", id=row["message"])
        assert (body == EXPIRED) is gone
        state = await scalar(db, "SELECT state FROM conversations WHERE id = :id", id=row["conversation"])
        assert (state == {}) is gone
        call = await scalar(db, "SELECT count(*) FROM voice_calls WHERE call_sid = :c", c=row["call"])
        assert call == (0 if gone else 1)
        text = await scalar(db, "SELECT body FROM inbound_sms WHERE id = :id", id=row["text"])
        assert (text == EXPIRED) is gone
        sent = await scalar(db, "SELECT body FROM notification_outbox WHERE id = :id", id=row["outbox"])
        assert (sent == EXPIRED) is gone
        audit = await scalar(db, "SELECT count(*) FROM audit_log WHERE id = :id", id=row["audit"])
        assert audit == (0 if gone else 1)
    # A call newer than the call period keeps its record, but its transcript is past the message period.
    young_call = await rows(db, "SELECT heard FROM voice_turns WHERE call_sid = :c", c=mine["new"]["call"])
    assert young_call == [{"heard": "I need a cleaning mine"}]

    untouched = await rows(
        db,
        "SELECT body FROM conversation_messages WHERE tenant_id = :t UNION ALL"
        " SELECT body FROM inbound_sms WHERE tenant_id = :t UNION ALL"
        " SELECT body FROM notification_outbox WHERE tenant_id = :t",
        t=bystander.id,
    )
    assert EXPIRED not in {r["body"] for r in untouched} and len(untouched) == 6
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE id = :id", id=theirs["old"]["audit"]) == 1

    appointment = await client.get(f"/api/v1/bookings/{booked.json()['id']}", headers=tenant.auth)
    assert appointment.status_code == 200 and appointment.json()["status"] == "booked"
    assert appointment.json()["customer"]["name"] == "Pat Patient"

    archived = list(archive_dir(retention_settings.data_dir, tenant.id).glob("*.jsonl"))
    lines = [json.loads(line) for path in archived for line in path.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["test.old"]
    assert lines[0]["id"] == mine["old"]["audit"] and lines[0]["details"] == {"tag": "mine"}

    audited = await rows(
        db,
        "SELECT actor, details FROM audit_log WHERE tenant_id = :t AND action = 'retention.purged'",
        t=tenant.id,
    )
    assert audited == [{"actor": "system:retention", "details": counts}]

    again = await retention.purge(db, retention_settings, context, NOW)
    assert set(again.values()) == {0}
    assert (
        await scalar(
            db,
            "SELECT count(*) FROM audit_log WHERE tenant_id = :t AND action = 'retention.purged'",
            t=tenant.id,
        )
        == 1
    ), "a purge with nothing to remove records nothing"


async def test_the_nightly_run_starts_at_the_clinics_hour_once_a_night(make_tenant, db, retention_settings):
    tenant = await make_tenant(settings={"min_lead_minutes": 0, "max_days_ahead": 400, **PERIODS})
    await seed(db, tenant.id, "night")
    context = (await caller_for(db, tenant.id)).tenant
    night = NOW.astimezone(context.timezone).replace(hour=2, minute=59) + timedelta(days=30)
    old_enough = night.astimezone(UTC)

    await retention.run_due(db, retention_settings, old_enough)
    assert await scalar(db, "SELECT count(*) FROM retention_runs WHERE tenant_id = :t", t=tenant.id) == 0

    three = old_enough + timedelta(minutes=2)
    await retention.run_due(db, retention_settings, three)
    await retention.run_due(db, retention_settings, three + timedelta(hours=1))
    run = await rows(
        db, "SELECT run_on, finished_at, counts FROM retention_runs WHERE tenant_id = :t", t=tenant.id
    )
    assert run[0]["run_on"] == three.astimezone(context.timezone).date()
    assert run[0]["finished_at"] == three and run[0]["counts"]["message_bodies"] == 2
    purged = await scalar(
        db, "SELECT count(*) FROM audit_log WHERE tenant_id = :t AND action = 'retention.purged'", t=tenant.id
    )
    assert purged == 1


async def test_the_periods_are_shown_and_changed_in_the_workspace_and_the_api(client):
    owner = await new_clinic(client)
    page = await owner.http.get("/app/settings/privacy")
    assert page.status_code == 200
    assert 'name="settings.retention_message_days" data-type="int" value="365"' in page.text
    assert "Not run yet." in page.text
    changed = await owner.http.patch(
        "/api/v1/tenant/settings", json={"settings": {"retention_message_days": 7}}, headers=owner.headers()
    )
    assert changed.status_code == 200 and changed.json()["settings"]["retention_message_days"] == 7
    refused = await owner.http.patch(
        "/api/v1/tenant/settings", json={"settings": {"retention_outbox_days": 0}}, headers=owner.headers()
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["errors"][0]["field"] == "settings.retention_outbox_days"
    assert (await owner.http.get("/api/v1/retention/last-run")).json() is None
