"""An appointment from the clinic's own system over a time already taken: stored and flagged as a
conflict, never dropped, never moving ours; and from then on nothing else is booked over it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from tests.conftest import at, iso, local_day
from tests.core.test_schema import raw, raw_url  # noqa: F401 - the raw connection fixture
from tests.support.db import rows, scalar
from tests.support.external import SOURCE, appointment, events_of, put


async def book(client, tenant, when, provider="Dr. Adams"):
    response = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Check-up"],
            "provider_id": tenant.providers[provider],
            "starts_at": iso(when),
            "customer": {"name": "Olive Ours", "email": f"olive{uuid.uuid4().hex[:6]}@example.org"},
        },
        headers=tenant.auth,
    )
    return response


async def test_an_overlap_with_our_booking_is_stored_as_a_conflict_and_ours_stays(client, db, tenant):
    ours = (await book(client, tenant, at(local_day(4), "10:00"))).json()
    theirs = await put(client, tenant, "K-1", appointment(tenant, at(local_day(4), "10:15")))
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["conflicts_with"] == [ours["id"]]
    kept = (await client.get(f"/api/v1/bookings/{ours['id']}", headers=tenant.auth)).json()
    assert (kept["starts_at"], kept["status"]) == (ours["starts_at"], "booked")

    [conflict] = [e for e in await events_of(db, tenant) if e["type"] == "booking.conflict"]
    assert conflict["data"]["external_id"] == "K-1"
    assert conflict["data"]["conflicting_appointment_ids"] == [ours["id"]]
    listed = (await client.get("/api/v1/booking-conflicts", headers=tenant.auth)).json()
    assert [(c["appointment"]["external_id"], [o["id"] for o in c["overlaps"]]) for c in listed] == [
        ("K-1", [ours["id"]])
    ]
    # Nothing new lands on its time: not a booking, not a move, not a hold.
    assert (await book(client, tenant, at(local_day(4), "10:30"))).json()["error"]["code"] == "SLOT_TAKEN"
    other = (await book(client, tenant, at(local_day(4), "14:00"))).json()
    moved = await client.post(
        f"/api/v1/bookings/{other['id']}/reschedule",
        json={"starts_at": iso(at(local_day(4), "10:30"))},
        headers=tenant.auth,
    )
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "SLOT_TAKEN"
    hold = await client.post(
        "/api/v1/holds",
        json={
            "service_id": tenant.services["Check-up"],
            "provider_id": tenant.providers["Dr. Adams"],
            "starts_at": iso(at(local_day(4), "10:30")),
        },
        headers=tenant.auth,
    )
    assert hold.status_code == 409

    # Moved in their system to a free time: no longer a conflict, and under the exclusion constraint.
    free = await put(client, tenant, "K-1", appointment(tenant, at(local_day(4), "15:00"), version=2))
    assert free.json()["conflicts_with"] == []
    assert (await client.get("/api/v1/booking-conflicts", headers=tenant.auth)).json() == []
    assert (
        await scalar(
            db, "SELECT conflict FROM appointments WHERE tenant_id = :t AND external_id = 'K-1'", t=tenant.id
        )
        is False
    )
    assert (await book(client, tenant, at(local_day(4), "15:00"))).status_code == 409


async def test_their_own_double_booking_is_kept_as_a_conflict_too(client, db, tenant):
    await put(client, tenant, "L-1", appointment(tenant, at(local_day(6), "09:00"), minutes=60))
    second = await put(client, tenant, "L-2", appointment(tenant, at(local_day(6), "09:30")))
    first_id = (await client.get(f"/api/v1/external-appointments/{SOURCE}/L-1", headers=tenant.auth)).json()
    assert second.json()["conflicts_with"] == [first_id["appointment"]["id"]]
    # Cancelled there: the conflict is over, and the time is ours to give again.
    await client.delete(f"/api/v1/external-appointments/{SOURCE}/L-2", headers=tenant.auth)
    assert (await client.get("/api/v1/booking-conflicts", headers=tenant.auth)).json() == []


async def test_a_patient_holding_the_time_gives_way_to_the_clinics_system(client, db, tenant):
    when = at(local_day(5), "11:00")
    hold = await client.post(
        "/api/v1/holds",
        json={
            "service_id": tenant.services["Check-up"],
            "provider_id": tenant.providers["Dr. Adams"],
            "starts_at": iso(when),
        },
        headers=tenant.auth,
    )
    assert hold.status_code == 201
    theirs = await put(client, tenant, "M-1", appointment(tenant, when))
    assert theirs.status_code == 201 and theirs.json()["conflicts_with"] == []
    assert await scalar(db, "SELECT status FROM holds WHERE id = :i", i=hold.json()["id"]) == "released"
    confirm = await client.post(
        f"/api/v1/holds/{hold.json()['id']}/confirm",
        json={"customer": {"name": "Late", "email": "late@example.org"}},
        headers=tenant.auth,
    )
    assert confirm.status_code in (409, 410)
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def busy_block(raw, tenant, start, end):  # noqa: F811
    """Busy time as a calendar sync would store it, written straight into its tables."""
    provider = uuid.UUID(tenant.providers["Dr. Adams"])
    connection, source = uuid.uuid4(), uuid.uuid4()
    tenant_id = uuid.UUID(tenant.id)
    await raw.execute(
        "INSERT INTO calendar_connections (id, tenant_id, provider_id, kind, account, secret_sealed)"
        " VALUES ($1, $2, $3, 'caldav', $4, 'sealed')",
        connection, tenant_id, provider, f"{connection}@example.org",
    )  # fmt: skip
    await raw.execute(
        "INSERT INTO calendar_sources (id, tenant_id, connection_id, provider_id, external_id, name,"
        " blocks_time) VALUES ($1, $2, $3, $4, 'cal', 'Work', true)",
        source, tenant_id, connection, provider,
    )  # fmt: skip
    item = await raw.fetchval(
        "INSERT INTO calendar_items (tenant_id, source_id, external_key) VALUES ($1, $2, 'ev') RETURNING id",
        tenant_id, source,
    )  # fmt: skip
    await raw.execute(
        "INSERT INTO busy_blocks (tenant_id, provider_id, item_id, starts_at, ends_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        tenant_id, provider, item, start, end,
    )  # fmt: skip


async def test_busy_time_from_a_calendar_does_not_refuse_their_appointment(client, tenant, raw):  # noqa: F811
    when = at(local_day(7), "10:00")
    await busy_block(raw, tenant, when, when + timedelta(minutes=30))
    assert (await book(client, tenant, when)).status_code == 409  # ours: refused, as before
    theirs = await put(client, tenant, "N-1", appointment(tenant, when))  # theirs: usually that very event
    assert theirs.status_code == 201 and theirs.json()["conflicts_with"] == []


async def test_the_database_keeps_conflicts_external_and_their_time_free(client, db, tenant, raw):  # noqa: F811
    ours = (await book(client, tenant, at(local_day(3), "10:00"))).json()
    with pytest.raises(asyncpg.CheckViolationError):
        await raw.execute("UPDATE appointments SET conflict = true WHERE id = $1", uuid.UUID(ours["id"]))
    await put(client, tenant, "P-1", appointment(tenant, at(local_day(3), "10:00")))
    [flagged] = await rows(
        db, "SELECT conflict FROM appointments WHERE tenant_id = :t AND external_id = 'P-1'", t=tenant.id
    )
    assert flagged["conflict"] is True
    # Cancel ours, then try to put it back over their appointment by hand: the trigger refuses.
    await client.post(f"/api/v1/bookings/{ours['id']}/cancel", json={}, headers=tenant.auth)
    with pytest.raises(asyncpg.ExclusionViolationError) as refused:
        await raw.execute("UPDATE appointments SET status = 'booked' WHERE id = $1", uuid.UUID(ours["id"]))
    assert refused.value.constraint_name == "appointments_conflicts_no_overlap"
