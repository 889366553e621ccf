"""Idempotency-Key: replay, different body, still running, kept at least 72 hours."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
from sqlalchemy.engine import make_url

from backend.core import idempotency
from backend.scheduling.guards import lock_key
from tests.conftest import at, iso, local_day, utcnow
from tests.support.db import key_held, rows, scalar


def booking_body(tenant, when, name="Jane Doe"):
    return {
        "service_id": tenant.services["Check-up"],
        "starts_at": iso(when),
        "customer": {"name": name, "phone": "+16175550100"},
    }


async def test_same_key_and_body_replays_without_booking_twice(client, tenant, db):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = booking_body(tenant, at(local_day(3), "10:00"))
    first = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    assert first.status_code == 201
    # key order and whitespace do not make it another request
    replay = await client.post(
        "/api/v1/bookings",
        content=("{ " + ", ".join(f'"{k}": {v!r}' for k, v in reversed(body.items())) + " }").replace(
            "'", '"'
        ),
        headers={**tenant.auth, **key, "Content-Type": "application/json"},
    )
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def test_same_key_with_another_body_is_refused(client, tenant, db):
    key = {"Idempotency-Key": "order-7"}
    await client.post(
        "/api/v1/bookings",
        json=booking_body(tenant, at(local_day(3), "10:00")),
        headers={**tenant.auth, **key},
    )
    other = await client.post(
        "/api/v1/bookings",
        json=booking_body(tenant, at(local_day(3), "11:00")),
        headers={**tenant.auth, **key},
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def test_same_key_while_the_first_request_runs_is_409(client, tenant, db, settings):
    """Hold the provider-day lock from outside so the first request is genuinely still running."""
    when = at(local_day(3), "13:00")
    lock = lock_key(uuid.UUID(tenant.providers["Dr. Adams"]), when.date())
    url = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    blocker = await asyncpg.connect(url)
    try:
        await blocker.execute("BEGIN")
        await blocker.execute("SELECT pg_advisory_xact_lock($1)", lock)
        key = {"Idempotency-Key": "slow-one"}
        body = booking_body(tenant, when)
        first = asyncio.create_task(
            client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
        )
        for _ in range(100):  # until the first request holds the key
            if await key_held(db, tenant.id, "slow-one"):
                break
            await asyncio.sleep(0.05)
        second = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
        assert second.status_code == 409
        assert second.json()["error"] == {
            "code": "IDEMPOTENCY_IN_PROGRESS",
            "message": second.json()["error"]["message"],
            "details": {"idempotency_key": "slow-one"},
            "retryable": True,
        }
        assert not first.done()
    finally:
        await blocker.execute("ROLLBACK")
        await blocker.close()
    assert (await first).status_code == 201
    replay = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def test_keys_are_kept_72_hours_then_forgotten(client, tenant, db):
    key = {"Idempotency-Key": "kept"}
    body = booking_body(tenant, at(local_day(3), "14:00"))
    first = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    [row] = await rows(db, "SELECT created_at, expires_at FROM idempotency_keys WHERE key = 'kept'")
    assert row["expires_at"] - row["created_at"] >= timedelta(hours=72)

    # after expiry the key is a new request (which now loses the slot to the first one)
    await scalar(
        db,
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'kept' RETURNING 1",
    )
    again = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    assert first.status_code == 201 and again.status_code == 409
    assert again.json()["error"]["code"] == "SLOT_TAKEN"

    # expired keys are purged (the server does it at start-up)
    expire = (
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'kept' RETURNING 1"
    )
    await scalar(db, expire)
    assert await db.transaction(lambda s: idempotency.purge_expired(s, utcnow())) >= 1
    assert await scalar(db, "SELECT count(*) FROM idempotency_keys WHERE key = 'kept'") == 0


async def test_errors_are_replayed_but_retryable_ones_release_the_key(client, tenant, db):
    taken_at = at(local_day(3), "15:00")
    await client.post("/api/v1/bookings", json=booking_body(tenant, taken_at, "A"), headers=tenant.auth)
    key = {"Idempotency-Key": "lost-race"}
    body = booking_body(tenant, taken_at, "B")
    lost = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    replayed = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    assert lost.status_code == replayed.status_code == 409
    assert replayed.json() == lost.json() and replayed.headers["idempotent-replayed"] == "true"

    bad_key = await client.post(
        "/api/v1/bookings", json=body, headers={**tenant.auth, "Idempotency-Key": "x" * 300}
    )
    assert (
        bad_key.status_code == 422
        and bad_key.json()["error"]["details"]["errors"][0]["field"] == "Idempotency-Key"
    )


async def test_keys_of_two_tenants_do_not_collide(client, make_tenant, db):
    one, two = await make_tenant(), await make_tenant()
    key = {"Idempotency-Key": "shared-name"}
    when = at(local_day(3), "16:00")
    assert (
        await client.post("/api/v1/bookings", json=booking_body(one, when), headers={**one.auth, **key})
    ).status_code == 201
    second = await client.post("/api/v1/bookings", json=booking_body(two, when), headers={**two.auth, **key})
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers


async def test_a_key_held_by_a_process_that_died_is_free_at_once(client, tenant, db, settings):
    """The key belongs to the database session of the request running it: a session whose process
    is gone (PostgreSQL ends it) holds nothing, and the retry goes through at once."""
    key = {"Idempotency-Key": "died-mid-request"}
    body = booking_body(tenant, at(local_day(4), "10:00"))
    url = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    dying = await asyncpg.connect(url)
    await dying.execute("SELECT pg_advisory_lock($1)", idempotency.lock_key(tenant.id, "died-mid-request"))
    assert await key_held(db, tenant.id, "died-mid-request")
    busy = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"

    dying.terminate()  # the process is killed: its connection closes without a word
    for _ in range(100):
        if not await key_held(db, tenant.id, "died-mid-request"):
            break
        await asyncio.sleep(0.05)
    retried = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    replay = await client.post("/api/v1/bookings", json=body, headers={**tenant.auth, **key})
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1
