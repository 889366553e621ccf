"""Each report figure against a small clinic whose answers were worked out by hand, on the clinic's
days (New York): rows near midnight land on the local day, not the UTC one.

The fixture, week of Monday 2 February 2026 (EST, UTC-5):
  A1 booked 03 Feb 04:30Z (= 2 Feb 23:30 local) by the receptionist over SMS; first patient message
     04:00Z (30 min); visit 2 Feb 14:00Z, completed; reminded (delivered); confirmed by SMS.
  A2 booked 03 Feb 15:00Z by staff; visit 3 Feb 14:00Z, no-show; reminded (sent); confirmed by e-mail.
  A3 booked 03 Feb 16:00Z in a web chat a person took over (staff message 15:30Z, patient's first
     15:00Z: 60 min); visit 4 Feb 14:00Z, cancelled two hours before: a late cancellation.
  A4 booked 03 Feb 17:00Z from a waitlist offer; visit 9 Feb 04:30Z (= Sunday 8 Feb 23:30 local, so
     the week of 2 Feb); reminded (undelivered, queued 8 Feb 04:00Z = 7 Feb local); not confirmed.
  A message withheld (opted out) queued 3 Feb 15:00Z, another 2 Feb 04:30Z (= 1 Feb local: outside).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.conftest import at, local_day
from tests.support.db import scalar
from tests.support.messaging import book_at, new_phone

PERIOD = {"from": "2026-02-02", "to": "2026-02-08"}


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def execute(db, sql: str, **params) -> None:
    await scalar(db, sql + " RETURNING 1", **params)


async def appointment(db, tenant, hour: str, *, created: str, starts: str, status: str, via: str, conv=None):
    booked = await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(30), hour),
        at(local_day(0), "00:01"),
        phone=new_phone(),
    )
    start = z(starts)
    await execute(
        db,
        "UPDATE appointments SET created_at = :created, starts_at = :start,"
        " ends_at = CAST(:start AS timestamptz) + interval '30 min',"
        " blocked_until = CAST(:start AS timestamptz) + interval '30 min', status = :status,"
        " booked_via = :via, conversation_id = :conv,"
        " updated_at = :updated WHERE id = :id",
        created=z(created),
        start=start,
        status=status,
        via=via,
        conv=conv,
        updated=z(created),
        id=booked.id,
    )
    return booked.id


async def conversation(db, tenant, channel: str, messages: list[tuple[str, str]]) -> uuid.UUID:
    ident = uuid.uuid4()
    await execute(
        db,
        "INSERT INTO conversations (id, tenant_id, channel) VALUES (:id, :t, :channel)",
        id=ident,
        t=tenant.id,
        channel=channel,
    )
    for seq, (role, when) in enumerate(messages, start=1):
        await execute(
            db,
            "INSERT INTO conversation_messages"
            " (conversation_id, tenant_id, seq, role, body, payload, created_at)"
            " VALUES (:c, :t, :seq, :role, 'hello', '{}', :when)",
            c=ident,
            t=tenant.id,
            seq=seq,
            role=role,
            when=z(when),
        )
    return ident


async def message(db, tenant, kind: str, created: str, status: str, delivery=None, appointment_id=None):
    await execute(
        db,
        "INSERT INTO notification_outbox (id, tenant_id, kind, channel, recipient, recipient_timezone, body,"
        " dedupe_key, status, delivery_status, appointment_id, next_attempt_at, created_at)"
        " VALUES (:id, :t, :kind, 'sms', '+16175550100', 'America/New_York', 'x', :key, :status, :delivery,"
        " :a, :created, :created)",
        id=uuid.uuid4(),
        t=tenant.id,
        kind=kind,
        key=uuid.uuid4().hex,
        status=status,
        delivery=delivery,
        a=appointment_id,
        created=z(created),
    )


async def clinic(db, tenant) -> None:
    by_sms = await conversation(db, tenant, "sms", [("patient", "2026-02-03 04:00")])
    taken = await conversation(
        db, tenant, "web", [("patient", "2026-02-03 15:00"), ("staff", "2026-02-03 15:30")]
    )
    a1 = await appointment(
        db,
        tenant,
        "09:00",
        created="2026-02-03 04:30",
        starts="2026-02-02 14:00",
        status="completed",
        via="conversation",
        conv=by_sms,
    )
    a2 = await appointment(
        db,
        tenant,
        "10:00",
        created="2026-02-03 15:00",
        starts="2026-02-03 14:00",
        status="no_show",
        via="staff",
    )
    a3 = await appointment(
        db,
        tenant,
        "11:00",
        created="2026-02-03 16:00",
        starts="2026-02-04 14:00",
        status="cancelled",
        via="conversation",
        conv=taken,
    )
    a4 = await appointment(
        db,
        tenant,
        "14:00",
        created="2026-02-03 17:00",
        starts="2026-02-09 04:30",
        status="completed",
        via="waitlist",
    )
    await execute(
        db, "UPDATE appointments SET updated_at = starts_at - interval '2 hours' WHERE id = :id", id=a3
    )
    await execute(db, "UPDATE appointments SET confirmed_via = 'sms' WHERE id = :id", id=a1)
    await execute(db, "UPDATE appointments SET confirmed_via = 'email' WHERE id = :id", id=a2)
    await message(db, tenant, "reminder", "2026-02-02 05:30", "sent", "delivered", a1)
    await message(db, tenant, "reminder", "2026-02-02 06:00", "sent", None, a2)
    await message(db, tenant, "reminder", "2026-02-08 04:00", "sent", "undelivered", a4)
    await message(db, tenant, "confirmation", "2026-02-03 15:00", "opted_out")
    await message(db, tenant, "confirmation", "2026-02-02 04:30", "opted_out")
    await execute(
        db,
        "INSERT INTO domain_events (tenant_id, type, entity_type, entity_id, data, occurred_at)"
        " VALUES (:t, 'conversation.taken_over', 'conversation', :c, '{}', :at)",
        t=tenant.id,
        c=str(taken),
        at=z("2026-02-03 15:20"),
    )


async def figure(client, tenant, name: str, **query) -> list[list]:
    response = await client.get(f"/api/v1/reports/{name}", headers=tenant.auth, params={**PERIOD, **query})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


async def test_every_figure_matches_the_hand_worked_answer(db, client, tenant):
    await clinic(db, tenant)
    assert await figure(client, tenant, "bookings") == [
        ["2026-02-02", "sms", "receptionist", 1],
        ["2026-02-03", "staff", "person", 1],
        ["2026-02-03", "waitlist", "other", 1],
        ["2026-02-03", "web", "person", 1],
    ]
    assert await figure(client, tenant, "confirmations") == [["email", 1], ["none", 1], ["sms", 1]]
    assert await figure(client, tenant, "attendance") == [["2026-02-02", 3, 1, 1, 4, 33.3, 25.0]]
    assert await figure(client, tenant, "recovered") == [
        ["waitlist offers accepted", 1],
        ["no-show follow-ups rebooked", 0],
        ["hold follow-ups completed", 0],
    ]
    assert await figure(client, tenant, "messages") == [
        ["2026-02-02", "delivered", 1],
        ["2026-02-02", "sent", 1],
        ["2026-02-03", "withheld", 1],
        ["2026-02-07", "failed", 1],
    ]
    assert await figure(client, tenant, "speed") == [
        ["median minutes to book", 45.0],
        ["conversation bookings", 2],
        ["conversations handed to a person", 1],
    ]
    # Counts read as counts in the CSV a person opens (2, not 2.0).
    speed_csv = await client.get(
        "/api/v1/reports/speed", headers=tenant.auth, params={**PERIOD, "format": "csv"}
    )
    assert speed_csv.text.splitlines()[1:] == [
        "median minutes to book,45",
        "conversation bookings,2",
        "conversations handed to a person,1",
    ]
    # One provider: Dr. Baker has none of these.
    assert await figure(client, tenant, "bookings", provider_id=tenant.providers["Dr. Baker"]) == []


async def test_csv_and_a_bad_range(db, client, tenant):
    await clinic(db, tenant)
    response = await client.get(
        "/api/v1/reports/attendance", headers=tenant.auth, params={**PERIOD, "format": "csv"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines() == [
        "week,due,no_shows,late_cancellations,booked,no_show_rate,late_cancellation_rate",
        "2026-02-02,3,1,1,4,33.3,25.0",
    ]
    bad = await client.get(
        "/api/v1/reports/bookings", headers=tenant.auth, params={"from": "2026-02-08", "to": "2026-02-02"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    unknown = await client.get("/api/v1/reports/nothing", headers=tenant.auth)
    assert unknown.status_code == 422
