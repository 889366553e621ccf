"""One appointment from the clinic's own system, upserted by its id there: created, moved, cancelled,
an older update ignored, the same update twice doing nothing, and our rules not refusing it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.conftest import at, local_day
from tests.support.db import rows, scalar
from tests.support.external import SOURCE, appointment, events_of, put
from tests.support.messaging import actions_of, new_phone, outbox_of


async def test_create_move_and_cancel_with_the_lifecycle_of_ours(client, db, tenant):
    phone = new_phone()
    first = at(local_day(5), "10:00")
    created = await put(client, tenant, "A-1", appointment(tenant, first, phone=phone))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["result"] == "created" and body["conflicts_with"] == []
    booked = body["appointment"]
    assert (booked["source"], booked["external_id"], booked["status"]) == (SOURCE, "A-1", "booked")
    assert booked["service_name"] == "Appointment"  # no service named: the clinic's placeholder
    reminders = await actions_of(db, tenant.id, "send_reminder")
    assert [(r["due_at"], r["status"]) for r in reminders] == [
        (at(local_day(3), "10:00"), "pending"),
        (at(local_day(4), "10:00"), "pending"),
    ]
    # The source's appointments are confirmed by their own system unless the clinic says otherwise.
    assert await outbox_of(db, tenant.id, kind="confirmation") == []

    later = at(local_day(6), "15:00")
    moved = await put(client, tenant, "A-1", appointment(tenant, later, phone=phone, version=2))
    assert moved.status_code == 200 and moved.json()["result"] == "updated"
    assert moved.json()["appointment"]["starts_at"] == later.isoformat()
    reminders = await actions_of(db, tenant.id, "send_reminder")
    assert [(r["due_at"], r["status"]) for r in reminders] == [
        (at(local_day(3), "10:00"), "cancelled"),
        (at(local_day(4), "10:00"), "cancelled"),
        (at(local_day(4), "15:00"), "pending"),
        (at(local_day(5), "15:00"), "pending"),
    ]

    gone = await client.delete(f"/api/v1/external-appointments/{SOURCE}/A-1?version=3", headers=tenant.auth)
    assert gone.status_code == 200 and gone.json()["appointment"]["status"] == "cancelled"
    assert {r["status"] for r in await actions_of(db, tenant.id, "send_reminder")} == {"cancelled"}
    # The freed time goes to the waiting list, as when one of ours is cancelled.
    assert len(await actions_of(db, tenant.id, "offer_waitlist_slot")) == 2

    events = await events_of(db, tenant)
    assert [e["type"] for e in events] == ["booking.created", "booking.rescheduled", "booking.cancelled"]
    assert all((e["data"]["source"], e["data"]["external_id"]) == (SOURCE, "A-1") for e in events)
    assert events[1]["data"]["previous_starts_at"] == first.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_an_older_update_never_overwrites_a_newer_one(client, db, tenant):
    newest = at(local_day(5), "11:00")
    await put(client, tenant, "B-1", appointment(tenant, at(local_day(5), "10:00"), version=1))
    assert (await put(client, tenant, "B-1", appointment(tenant, newest, version=3))).json()[
        "result"
    ] == "updated"
    late = await put(client, tenant, "B-1", appointment(tenant, at(local_day(5), "09:00"), version=2))
    assert late.status_code == 200
    assert late.json()["result"] == "stale" and late.json()["appointment"]["starts_at"] == newest.isoformat()
    stale_cancel = await client.delete(
        f"/api/v1/external-appointments/{SOURCE}/B-1?version=2", headers=tenant.auth
    )
    assert stale_cancel.json()["result"] == "stale"
    assert (
        await scalar(
            db, "SELECT status FROM appointments WHERE external_id = 'B-1' AND tenant_id = :t", t=tenant.id
        )
        == "booked"
    )
    # Versioned by update time the same way.
    when = datetime(2026, 1, 1, 12, tzinfo=UTC)
    body = appointment(tenant, at(local_day(7), "10:00"), version=None, updated_at=when.isoformat())
    await put(client, tenant, "B-2", body)
    older = {**body, "updated_at": (when - timedelta(minutes=1)).isoformat(), "notes": "old"}
    assert (await put(client, tenant, "B-2", older)).json()["result"] == "stale"
    mixed = await put(client, tenant, "B-2", {**body, "updated_at": None, "version": 9})
    assert mixed.status_code == 409 and "versioned by updated_at" in mixed.json()["error"]["message"]


async def test_the_same_update_twice_changes_nothing_and_a_reused_version_is_refused(client, db, tenant):
    body = appointment(tenant, at(local_day(5), "10:00"), version=4)
    await put(client, tenant, "C-1", body)
    again = await put(client, tenant, "C-1", body)
    assert again.status_code == 200 and again.json()["result"] == "unchanged"
    newer_same = await put(client, tenant, "C-1", {**body, "version": 5})
    assert newer_same.json()["result"] == "unchanged"
    assert (
        await scalar(
            db,
            "SELECT external_version FROM appointments WHERE external_id = 'C-1' AND tenant_id = :t",
            t=tenant.id,
        )
        == 5
    )
    assert [e["type"] for e in await events_of(db, tenant)] == ["booking.created"]
    reused = await put(client, tenant, "C-1", {**body, "version": 5, "notes": "changed"})
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "CONFLICT"


async def test_their_system_decides_hours_lead_time_and_window_do_not_refuse_it(client, tenant):
    # 07:00 is before opening, tomorrow's 12:30 is the lunch break, 500 days ahead is past the window.
    for n, when in enumerate(
        (at(local_day(2), "07:00"), at(local_day(1), "12:30"), at(local_day(500), "10:00"))
    ):
        response = await put(client, tenant, f"D-{n}", appointment(tenant, when))
        assert response.status_code == 201, response.text
    soon = datetime.now(UTC) + timedelta(minutes=3)
    assert (await put(client, tenant, "D-soon", appointment(tenant, soon))).status_code == 201


async def test_provider_and_service_by_their_ids_mapped_once(client, db, tenant):
    mapped = await client.patch(
        f"/api/v1/providers/{tenant.providers['Dr. Baker']}",
        json={"external_ids": {SOURCE: "DR-B"}},
        headers=tenant.auth,
    )
    assert mapped.status_code == 200 and mapped.json()["external_ids"] == {SOURCE: "DR-B"}
    service = await client.patch(
        f"/api/v1/services/{tenant.services['Cleaning']}",
        json={"external_ids": {SOURCE: "CLN"}},
        headers=tenant.auth,
    )
    assert service.json()["external_ids"] == {SOURCE: "CLN"}
    listed = (await client.get("/api/v1/providers", headers=tenant.auth)).json()
    assert {p["name"]: p["external_ids"] for p in listed}["Dr. Baker"] == {SOURCE: "DR-B"}
    taken = await client.patch(
        f"/api/v1/providers/{tenant.providers['Dr. Adams']}",
        json={"external_ids": {SOURCE: "DR-B"}},
        headers=tenant.auth,
    )
    assert taken.status_code == 409

    body = appointment(
        tenant, at(local_day(4), "10:00"), provider_external_id="DR-B", service_external_id="CLN"
    )
    del body["provider_id"]
    made = (await put(client, tenant, "E-1", body)).json()["appointment"]
    assert (made["provider_name"], made["service_name"]) == ("Dr. Baker", "Cleaning")
    # The service's 15-minute buffer after the visit is kept free, as for ours.
    [row] = await rows(db, "SELECT ends_at, blocked_until FROM appointments WHERE id = :i", i=made["id"])
    assert row["blocked_until"] - row["ends_at"] == timedelta(minutes=15)

    unknown = await put(client, tenant, "E-2", {**body, "provider_external_id": "DR-Z"})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["errors"][0]["field"] == "provider_external_id"
    assert "DR-Z" in unknown.json()["error"]["message"]
    elsewhere = await put(client, tenant, "E-3", body, source="other-system")  # mappings are per source
    assert elsewhere.status_code == 422
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def test_bad_input_is_a_clear_422_and_writes_nothing(client, db, tenant):
    good = appointment(tenant, at(local_day(3), "10:00"))
    cases = {
        "ends before it starts": ({**good, "ends_at": good["starts_at"]}, "ends_at must be after starts_at"),
        "no version": ({**good, "version": None}, "send version or updated_at"),
        "two time zones": (
            {**good, "ends_at": (at(local_day(3), "10:30")).astimezone(UTC).isoformat()},
            "give both times in one time zone",
        ),
        "no offset": ({**good, "starts_at": good["starts_at"][:19]}, "timezone"),
        "bad phone": ({**good, "customer": {"name": "X", "phone": "12"}}, "phone"),
        "unknown provider": ({**good, "provider_id": "00000000-0000-4000-8000-000000000000"}, "no provider"),
    }
    for case, (body, words) in cases.items():
        response = await put(client, tenant, "F-1", body)
        assert response.status_code == 422, (case, response.text)
        assert words in response.text, (case, response.text)
    bad_source = await put(client, tenant, "F-1", good, source="frontdesk")
    assert bad_source.status_code == 422
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 0
    assert await scalar(db, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant.id) == 0


async def test_confirmation_texts_are_a_per_source_choice(client, db, tenant):
    settings = await client.patch(
        "/api/v1/tenant/settings",
        json={"settings": {"external_confirmation_sources": [SOURCE]}},
        headers=tenant.auth,
    )
    assert settings.status_code == 200, settings.text
    phone = new_phone()
    await put(client, tenant, "G-1", appointment(tenant, at(local_day(5), "10:00"), phone=phone))
    await put(
        client,
        tenant,
        "G-2",
        appointment(tenant, at(local_day(5), "11:00"), phone=new_phone()),
        source="other",
    )
    confirmations = await outbox_of(db, tenant.id, kind="confirmation", channel="sms")
    assert [c["recipient"] for c in confirmations] == [phone]


async def test_concurrent_upserts_of_one_id_line_up_and_the_newest_wins(client, db, tenant):
    base = at(local_day(8), "09:00")
    bodies = [appointment(tenant, base + timedelta(minutes=30 * v), version=v) for v in range(1, 13)]
    answers = await asyncio.gather(*(put(client, tenant, "H-1", b) for b in reversed(bodies)))
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    results = [a.json()["result"] for a in answers]
    assert results.count("created") == 1
    [row] = await rows(
        db,
        "SELECT starts_at, external_version FROM appointments WHERE tenant_id = :t AND external_id = 'H-1'",
        t=tenant.id,
    )
    assert (row["starts_at"], row["external_version"]) == (base + timedelta(minutes=30 * 12), 12)
    # Every answer is its own update applied, or stale against a newer one already applied; and in the
    # order they were applied, the times only moved forward (no update slipped in over a newer one).
    for body, answer in zip(reversed(bodies), answers, strict=True):
        shown = answer.json()["appointment"]["starts_at"]
        if answer.json()["result"] == "stale":
            assert shown > body["starts_at"]
        else:
            assert shown == body["starts_at"]
    moves = [
        e["data"]["starts_at"] for e in await events_of(db, tenant) if e["type"] == "booking.rescheduled"
    ]
    assert moves == sorted(moves) and len(moves) == results.count("updated")
