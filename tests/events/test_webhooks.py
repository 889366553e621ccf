"""Webhooks as a clinic's receiver sees them: signed (verified with `standardwebhooks`), retried on
schedule while it is down, never lost, duplicated only under the same webhook-id, replayable."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from standardwebhooks import WebhookVerificationError

from backend.app import create_app
from backend.core.crypto import KeyRing
from backend.events import signing_secrets
from backend.events.pump import WebhookPump
from backend.events.sender import Request, WebhookSender, signature_headers
from tests.conftest import utcnow
from tests.events.conftest import add_endpoint, book, later
from tests.fakes.webhook_receiver import running_receiver, verify
from tests.support.db import rows, scalar


async def deliveries_of(db, endpoint_id):
    return await rows(
        db, "SELECT * FROM webhook_deliveries WHERE endpoint_id = :e ORDER BY created_at", e=endpoint_id
    )


async def test_a_booking_arrives_signed_with_the_event_id_as_webhook_id(client, tenant, db, pump):
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url, event_types=["booking.*"])
        assert endpoint["secret"].startswith("whsec_")
        receiver.secrets = [endpoint["secret"]]
        booking = await book(client, tenant, "10:00")
        assert await pump.drain() == 1

    [received] = receiver.accepted
    assert received.body["type"] == "booking.created"
    assert received.body["data"]["appointment_id"] == booking["id"]
    assert received.message_id == received.body["id"] and received.message_id.startswith("evt_")
    assert received.headers["webhook-signature"].startswith("v1,")
    assert "customer" not in received.body  # a minimal endpoint gets ids only
    # The contact details, in any form: the name, the number as given or as stored.
    assert "Jane" not in received.raw.decode() and "5550100" not in received.raw.decode().replace("-", "")
    [row] = await deliveries_of(db, endpoint["id"])
    assert row["status"] == "delivered" and row["response_status"] == 204 and row["attempts"] == 1

    # The receiver's own check rejects a changed body or a replayed old request.
    headers = dict(received.headers)
    with pytest.raises(WebhookVerificationError):
        verify(receiver.secrets, received.raw.replace(b"booking.created", b"booking.cancelled"), headers)
    stale = signature_headers(
        Request("", received.message_id, received.raw.decode(), (endpoint["secret"],)),
        datetime.now(UTC) - timedelta(minutes=10),
    )
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(receiver.secrets, received.raw, stale)
    # The secret is never stored in the clear, nor shown again.
    stored = await scalar(db, "SELECT secret FROM webhook_endpoints WHERE id = :e", e=endpoint["id"])
    assert endpoint["secret"] not in stored
    shown = await client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.auth)
    assert "secret" not in shown.json()


async def test_a_full_endpoint_gets_the_customers_contact_details(client, tenant, pump):
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(
            client, tenant, receiver.url, event_types=["booking.created"], payload="full"
        )
        receiver.secrets = [endpoint["secret"]]
        await book(client, tenant, "10:30")
        await pump.drain()
    [received] = receiver.accepted
    assert received.body["customer"]["name"] == "Jane Doe"
    assert received.body["customer"]["phone"] == "+16175550100"


async def endpoint_state(db, endpoint_id):
    [state] = await rows(
        db,
        "SELECT failures, probe_at, paused_until, failing_since FROM webhook_endpoints WHERE id = :e",
        e=endpoint_id,
    )
    return state


async def test_a_receiver_down_for_hours_gets_everything_once_it_recovers(client, tenant, db, pump):
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url, event_types=["booking.created"])
        receiver.secrets = [endpoint["secret"]]
        for hh_mm in ("09:00", "09:30", "11:00"):
            await book(client, tenant, hh_mm)
        receiver.down = True
        now = utcnow()
        assert await pump.run_once(now) == 3

        # Each retry waits its turn in the schedule, with jitter: the first after about 30 s. The
        # three were in flight together: one failure of the endpoint, not three.
        retrying = await deliveries_of(db, endpoint["id"])
        assert {r["status"] for r in retrying} == {"retrying"}
        for row in retrying:
            assert later(now, seconds=24) <= row["next_attempt_at"] <= later(now, seconds=36)
        state = await endpoint_state(db, endpoint["id"])
        assert state["failures"] == 1 and state["paused_until"] is None
        assert state["probe_at"] == later(now, seconds=10)
        asked = receiver.requests
        assert await pump.run_once(later(now, seconds=9)) == 0 and receiver.requests == asked
        # Nothing is due, but a failing endpoint is probed: one request.
        assert await pump.run_once(later(now, seconds=11)) == 1 and receiver.requests == asked + 1

        # Hours of outage, looked at every half minute: the circuit opens and only probes go, one
        # at a time, each costing its delivery no attempt.
        clock = later(now, seconds=11)
        for _ in range(8):
            clock += timedelta(seconds=31)
            await pump.run_once(clock)
        state = await endpoint_state(db, endpoint["id"])
        assert state["failures"] >= 5 and state["paused_until"] is not None  # paused
        asked = receiver.requests
        for _ in range(20):
            clock += timedelta(minutes=12)
            assert await pump.run_once(clock) <= 1
        assert receiver.requests - asked == 20
        attempts = [r["attempts"] for r in await deliveries_of(db, endpoint["id"])]
        assert max(attempts) <= 3, attempts

        # It recovers: within a probe interval (half a minute at most) everything it missed goes.
        # The first request is processed but answered 500 anyway: retried under the same id.
        receiver.down = False
        receiver.fail_after_accepting = 1
        recovered = clock
        while not await scalar(
            db,
            "SELECT bool_and(status = 'delivered') FROM webhook_deliveries WHERE endpoint_id = :e",
            e=endpoint["id"],
        ):
            assert clock - recovered < timedelta(minutes=2), "the endpoint did not resume"
            clock += timedelta(seconds=5)
            await pump.drain(clock)
        # One probe answered 500, the next one got through, and the rest went with it.
        assert clock - recovered <= timedelta(seconds=60)
        state = await endpoint_state(db, endpoint["id"])
        assert (state["failures"], state["paused_until"], state["failing_since"]) == (0, None, None)

    final = await deliveries_of(db, endpoint["id"])
    assert {r["status"] for r in final} == {"delivered"}
    assert sorted(set(receiver.ids())) == sorted(r["message_id"] for r in final)
    duplicates = [i for i in set(receiver.ids()) if receiver.ids().count(i) > 1]
    assert len(duplicates) == 1  # the one processed before the 500, again under the same id
    bodies = {r.raw for r in receiver.accepted if r.message_id == duplicates[0]}
    assert len(bodies) == 1
    types = await rows(
        db,
        "SELECT type FROM domain_events WHERE tenant_id = :t AND type LIKE 'webhook_endpoint.%' ORDER BY id",
        t=tenant.id,
    )
    assert [t["type"] for t in types] == ["webhook_endpoint.paused", "webhook_endpoint.resumed"]


async def test_a_burst_failing_together_counts_once_and_the_endpoint_resumes_within_a_minute(
    client, make_tenant, db, pump
):
    """The receiver down for 15 s while a burst of events is in flight: one failure, not one per
    delivery; probes find it back, and everything goes within a minute of it recovering."""
    owner = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    tenant = await make_tenant(owner={"email": owner, "name": "Olive Owner"})
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url, event_types=["booking.created"])
        for day in range(3, 11):
            await book(client, tenant, "09:00", days=day)
        receiver.down = True
        now = utcnow()
        assert await pump.run_once(now) == 8  # all eight in flight together
        state = await endpoint_state(db, endpoint["id"])
        assert state["failures"] == 1 and state["paused_until"] is None
        receiver.down = False  # back 15 s later
        clock = now
        while await scalar(
            db,
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :e AND status <> 'delivered'",
            e=endpoint["id"],
        ):
            clock += timedelta(seconds=5)
            assert clock - now <= timedelta(seconds=15 + 60), "not resumed within a minute"
            await pump.drain(clock)
    assert len(set(receiver.ids())) == 8
    # Never paused, so nobody was e-mailed about it.
    assert not await rows(
        db, "SELECT 1 FROM notification_outbox WHERE tenant_id = :t AND kind = 'webhook_paused'", t=tenant.id
    )


async def test_a_paused_endpoint_tells_the_owners_once_with_an_event(client, make_tenant, db, pump):
    owner = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    tenant = await make_tenant(
        settings={"alert_email": "ops@clinic.example"}, owner={"email": owner, "name": "Olive Owner"}
    )
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url + "?token=abc123")
        receiver.down = True
        await book(client, tenant, "09:00")
        clock = utcnow()
        for _ in range(12):  # probes, every half minute at most, for six minutes
            await pump.run_once(clock)
            clock += timedelta(seconds=31)
    mails = await rows(
        db,
        "SELECT recipient, subject, body FROM notification_outbox"
        " WHERE tenant_id = :t AND kind = 'webhook_paused'",
        t=tenant.id,
    )
    assert sorted(m["recipient"] for m in mails) == sorted(["ops@clinic.example", owner])
    assert "paused" in mails[0]["subject"] and receiver.url in mails[0]["body"]
    assert "abc123" not in mails[0]["body"]
    [paused] = await rows(
        db,
        "SELECT entity_id, data FROM domain_events WHERE tenant_id = :t AND type = 'webhook_endpoint.paused'",
        t=tenant.id,
    )
    assert paused["entity_id"] == endpoint["id"] and "503" in paused["data"]["error"]


async def test_an_endpoint_failing_for_days_is_switched_off_and_the_clinic_told(
    client, make_tenant, db, pump
):
    tenant = await make_tenant(
        settings={"min_lead_minutes": 0, "max_days_ahead": 400, "alert_email": "ops@clinic.example"},
        owner={"email": (owner := f"owner-{uuid.uuid4().hex[:8]}@clinic.example"), "name": "Olive Owner"},
    )
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url + "?token=abc123")
        receiver.down = True
        await book(client, tenant, "09:00")
        now = utcnow()
        await pump.run_once(now)
        await pump.run_once(later(now, hours=50))
        assert await scalar(db, "SELECT enabled FROM webhook_endpoints WHERE id = :e", e=endpoint["id"])
        await pump.run_once(later(now, hours=97))

    shown = (await client.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=tenant.auth)).json()
    assert shown["enabled"] is False and "failing since" in shown["disabled_reason"]
    alert = await rows(
        db,
        "SELECT recipient, subject, body FROM notification_outbox WHERE tenant_id = :t AND kind ="
        " 'webhook_disabled'",
        t=tenant.id,
    )
    # The alert address and every owner of the workspace.
    assert sorted(a["recipient"] for a in alert) == sorted(["ops@clinic.example", owner])
    assert receiver.url in alert[0]["body"] and "abc123" not in alert[0]["body"]
    events = await rows(
        db,
        "SELECT type FROM domain_events WHERE tenant_id = :t AND type = 'webhook_endpoint.disabled'",
        t=tenant.id,
    )
    assert len(events) == 1


async def test_during_a_rotation_both_secrets_verify_and_afterwards_only_the_new(client, tenant, pump):
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url, event_types=["booking.created"])
        old = endpoint["secret"]
        rotated = await client.post(
            f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
            json={"overlap_hours": 1},
            headers=tenant.auth,
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old and rotated.json()["previous_secret_expires_at"] is not None
        now = utcnow()
        await book(client, tenant, "14:00")
        await pump.drain(now)
        [during] = receiver.accepted
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert verify([old], during.raw, during.headers) and verify([new], during.raw, during.headers)

        await book(client, tenant, "14:30")
        await pump.drain(later(now, hours=2))
        after = receiver.accepted[-1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert verify([new], after.raw, after.headers)
        with pytest.raises(WebhookVerificationError):
            verify([old], after.raw, after.headers)


async def test_replay_of_a_delivery_an_event_and_a_time_range(client, tenant, db, pump):
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url, event_types=["booking.created"])
        path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
        start = utcnow() - timedelta(seconds=1)
        await book(client, tenant, "13:00")
        await book(client, tenant, "13:30")
        await pump.drain()
        first, second = receiver.ids()
        [delivery] = [d for d in await deliveries_of(db, endpoint["id"]) if d["message_id"] == first]

        one = await client.post(
            f"{path}/replay", json={"delivery_id": str(delivery["id"])}, headers=tenant.auth
        )
        assert one.status_code == 202 and one.json()["queued"] == 1
        by_event = await client.post(f"{path}/replay", json={"event_id": second}, headers=tenant.auth)
        assert by_event.json()["queued"] == 1
        window = {"since": start.isoformat(), "until": (utcnow() + timedelta(seconds=1)).isoformat()}
        ranged = await client.post(f"{path}/replay", json=window, headers=tenant.auth)
        assert ranged.json()["queued"] == 2
        await pump.drain()
    assert Counter(receiver.ids()) == {first: 3, second: 3}

    log = await client.get(f"{path}/deliveries", params={"limit": 2}, headers=tenant.auth)
    assert log.status_code == 200
    assert len(log.json()["items"]) == 2 and log.json()["next_cursor"]
    rest = await client.get(
        f"{path}/deliveries", params={"cursor": log.json()["next_cursor"]}, headers=tenant.auth
    )
    assert len(rest.json()["items"]) == 4
    assert all(
        item["status"] == "delivered" and item["latency_ms"] is not None for item in rest.json()["items"]
    )

    for wrong in (
        {},
        {"since": start.isoformat()},
        {"event_id": "evt_1", "delivery_id": str(delivery["id"])},
    ):
        response = await client.post(f"{path}/replay", json=wrong, headers=tenant.auth)
        assert response.status_code == 422, wrong
    missing = await client.post(f"{path}/replay", json={"event_id": "evt_999999999"}, headers=tenant.auth)
    assert missing.status_code == 404
    await client.patch(path, json={"enabled": False}, headers=tenant.auth)
    off = await client.post(f"{path}/replay", json={"event_id": second}, headers=tenant.auth)
    assert off.status_code == 409


async def test_a_ping_answers_with_what_the_receiver_said(client, tenant):
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        ping = await client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping", headers=tenant.auth)
        assert ping.status_code == 200, ping.text
        assert ping.json()["status"] == "delivered" and ping.json()["response_status"] == 204
        assert receiver.accepted[0].body["type"] == "webhook.ping"

        receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
        redirected = await client.post(
            f"/api/v1/webhook-endpoints/{endpoint['id']}/ping", headers=tenant.auth
        )
        assert redirected.json()["status"] == "failed" and redirected.json()["response_status"] == 307
        assert "redirects are not followed" in redirected.json()["error"]
    dead = await client.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/ping", headers=tenant.auth)
    assert dead.json()["status"] == "failed" and dead.json()["error"]


async def test_endpoints_are_validated_and_kept_to_their_tenant(client, tenant, make_tenant):
    for body, field in (
        ({"url": "ftp://clinic.example/x"}, "url"),
        ({"url": "https://user:pw@clinic.example/x"}, "url"),
        ({"url": "https://clinic.example/x", "event_types": ["booking.made"]}, "event_types"),
        ({"url": "https://clinic.example/x", "payload": "everything"}, "payload"),
    ):
        response = await client.post("/api/v1/webhook-endpoints", json=body, headers=tenant.auth)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"]["errors"][0]["field"] == field
    endpoint = await add_endpoint(client, tenant, "https://clinic.example/hooks", description="PMS")
    other = await make_tenant()
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    for method in ("GET", "DELETE"):
        assert (await client.request(method, path, headers=other.auth)).status_code == 404
    assert (await client.patch(path, json={"description": "x"}, headers=other.auth)).status_code == 404
    assert (await client.get("/api/v1/webhook-endpoints", headers=other.auth)).json() == []
    assert (await client.delete(path, headers=tenant.auth)).status_code == 204
    assert (await client.get(path, headers=tenant.auth)).status_code == 404


async def test_private_addresses_are_refused_outside_development(client, tenant, settings):
    app = create_app(settings.model_copy(update={"webhook_allow_private_targets": False}))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as guarded:
            for url in (
                "http://127.0.0.1:8080/hooks",
                "http://localhost/hooks",
                "http://169.254.169.254/latest/meta-data",
                "http://10.0.0.5/hooks",
                "http://[::1]/hooks",
                "http://[::ffff:127.0.0.1]/hooks",
                "http://0.0.0.0/hooks",
            ):
                response = await guarded.post(
                    "/api/v1/webhook-endpoints", json={"url": url}, headers=tenant.auth
                )
                assert response.status_code == 422, url
                assert "private network" in response.json()["error"]["message"]

            # A host name is checked when it is called (DNS answers change): one that resolves to
            # loopback is refused at connection time, and nothing reaches the receiver.
            async with running_receiver() as receiver:
                endpoint = await add_endpoint(client, tenant, receiver.url.replace("127.0.0.1", "localhost"))
                path = f"/api/v1/webhook-endpoints/{endpoint['id']}/ping"
                ping = await guarded.post(path, headers=tenant.auth)
                assert ping.json()["status"] == "failed"
                assert "private" in ping.json()["error"] and receiver.requests == 0
                allowed = await client.post(path, headers=tenant.auth)  # development: allowed
                assert allowed.json()["status"] == "delivered" and receiver.requests == 1
    finally:
        await app.state.webhook_sender.close()
        await app.state.db.dispose()
        await app.state.redis.aclose()


async def test_slow_receivers_time_out_and_oversized_payloads_are_not_sent(settings):
    impatient = WebhookSender(settings.model_copy(update={"webhook_timeout_seconds": 0.3}))
    small = WebhookSender(settings.model_copy(update={"webhook_max_payload_bytes": 1024}))
    try:
        async with running_receiver() as receiver:
            receiver.delay = 2
            slow = await impatient.send(Request(receiver.url, "evt_1", "{}", ("whsec_" + "A" * 44,)))
            assert not slow.ok and "no answer within 0.3 s" in slow.error
            big = await small.send(Request(receiver.url, "evt_2", "x" * 2000, ("whsec_" + "A" * 44,)))
            assert big.permanent and "over the 1024 limit" in big.error
    finally:
        await impatient.close()
        await small.close()


async def test_rekeying_seals_every_secret_under_the_new_key_and_the_old_key_can_go(
    client, tenant, db, settings
):
    new_key = KeyRing.new_key("k9")
    both = KeyRing.parse(f"{new_key},{settings.secrets_keys.get_secret_value()}")
    async with running_receiver() as receiver:
        endpoint = await add_endpoint(client, tenant, receiver.url, event_types=["booking.created"])
        receiver.secrets = [endpoint["secret"]]
        assert await db.transaction(lambda session: signing_secrets.reseal_all(session, both)) == 1
        stored = await scalar(db, "SELECT secret FROM webhook_endpoints WHERE id = :e", e=endpoint["id"])
        assert stored.startswith("k9:")
        await book(client, tenant, "15:00")
        only_new = WebhookPump(db, settings.model_copy(update={"secrets_keys": SecretStr(new_key)}))
        try:
            assert await only_new.drain() == 1
        finally:
            await only_new.sender.close()
    assert len(receiver.accepted) == 1 and not receiver.rejected


async def test_the_workers_pump_loop_delivers_a_burst_to_every_endpoint_and_strands_nothing(
    client, tenant, db, settings
):
    """The loop a worker runs (not one pass at a time): answers arriving while earlier ones are
    being recorded are all recorded, so no delivery is left `sending`."""
    pump = WebhookPump(db, settings.model_copy(update={"worker_sweep_seconds": 1}))
    async with running_receiver() as receiver:
        receiver.jitter = 0.05
        endpoints = [await add_endpoint(client, tenant, receiver.url) for _ in range(3)]
        for hh_mm in ("09:00", "09:30", "10:00", "10:30", "11:00", "13:00", "13:30", "14:00"):
            await book(client, tenant, hh_mm)
        loop = asyncio.create_task(pump.run())
        try:
            pump.nudge()
            for _ in range(100):
                statuses = await rows(
                    db,
                    "SELECT status, count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ANY(:e) GROUP"
                    " BY 1",
                    e=[e["id"] for e in endpoints],
                )
                if statuses and {s["status"] for s in statuses} == {"delivered"}:
                    break
                await asyncio.sleep(0.1)
        finally:
            loop.cancel()
            await pump.close()
    assert [s["status"] for s in statuses] == ["delivered"]
    assert statuses[0]["n"] == len(receiver.accepted) and len(set(receiver.ids())) * 3 == len(receiver.ids())
