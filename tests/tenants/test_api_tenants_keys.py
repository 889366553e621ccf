"""Tenants, API keys, tenant isolation, validation and the error envelope."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import ADMIN_SECRET, at, iso, local_day, tenant_spec
from tests.support.db import rows, scalar

ADMIN = {"X-Admin-Secret": ADMIN_SECRET}


def error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "retryable"}
    assert body["error"]["code"] == code
    return body["error"]


async def test_tenant_creation_returns_its_key_once(client, db):
    spec = tenant_spec()
    created = await client.post("/api/v1/tenants", json=spec, headers=ADMIN)
    assert created.status_code == 201, created.text
    data = created.json()
    key = data["api_key"]["key"]
    assert key.startswith("sk_live_") and data["api_key"]["prefix"] == key[:16]
    assert {p["name"] for p in data["providers"]} == {"Dr. Adams", "Dr. Baker"}
    assert len(data["providers"][0]["hours"]) == 14
    # only the hash is stored
    stored = await rows(
        db, "SELECT key_hash, prefix FROM api_keys WHERE tenant_id = :t", t=data["tenant"]["id"]
    )
    assert len(stored) == 1 and key not in str(stored)

    listed = await client.get("/api/v1/api-keys", headers={"Authorization": f"Bearer {key}"})
    assert listed.status_code == 200
    assert key not in listed.text and listed.json()[0]["masked"] == key[:16] + "…"

    services = await client.get("/api/v1/services", headers={"Authorization": f"Bearer {key}"})
    assert [s["name"] for s in services.json()] == ["Check-up", "Cleaning", "Consultation"]

    duplicate = await client.post("/api/v1/tenants", json=spec, headers=ADMIN)
    error(duplicate, 409, "CONFLICT")
    assert await scalar(db, "SELECT count(*) FROM tenants WHERE slug = :s", s=spec["slug"]) == 1


async def test_admin_secret_is_required(client):
    error(await client.post("/api/v1/tenants", json=tenant_spec()), 401, "UNAUTHORIZED")
    wrong = await client.post("/api/v1/tenants", json=tenant_spec(), headers={"X-Admin-Secret": "guess"})
    error(wrong, 401, "UNAUTHORIZED")


async def test_invalid_tenant_bodies_are_refused_and_write_nothing(client, db):
    before = await scalar(db, "SELECT count(*) FROM tenants")
    bad_timezone = tenant_spec(timezone="Mars/Olympus_Mons")
    problem = error(
        await client.post("/api/v1/tenants", json=bad_timezone, headers=ADMIN), 422, "VALIDATION_ERROR"
    )
    assert problem["details"]["errors"][0]["field"] == "timezone"
    assert "unknown timezone" in problem["message"]

    reversed_hours = tenant_spec(
        providers=[
            {"name": "Dr. Adams", "hours": [{"weekday": "mon", "opens_at": "17:00", "closes_at": "09:00"}]}
        ],
        services=[{"name": "Check-up", "duration_minutes": 30}],
    )
    problem = error(
        await client.post("/api/v1/tenants", json=reversed_hours, headers=ADMIN), 422, "VALIDATION_ERROR"
    )
    assert "must be before closes_at" in problem["message"]

    unknown_provider = tenant_spec(services=[{"name": "X", "duration_minutes": 30, "providers": ["Dr. Who"]}])
    problem = error(
        await client.post("/api/v1/tenants", json=unknown_provider, headers=ADMIN), 422, "VALIDATION_ERROR"
    )
    assert "Dr. Who" in problem["message"]

    closure_backwards = tenant_spec(
        closures=[{"starts_at": "2027-01-02T00:00:00-05:00", "ends_at": "2027-01-01T00:00:00-05:00"}]
    )
    problem = error(
        await client.post("/api/v1/tenants", json=closure_backwards, headers=ADMIN), 422, "VALIDATION_ERROR"
    )
    assert "ends_at must be after starts_at" in problem["message"]

    typo = {**tenant_spec(), "timezon": "America/New_York"}
    error(await client.post("/api/v1/tenants", json=typo, headers=ADMIN), 422, "VALIDATION_ERROR")
    assert await scalar(db, "SELECT count(*) FROM tenants") == before


async def test_request_validation_on_booking_endpoints(client, tenant, db):
    day = local_day(3)
    service = tenant.services["Check-up"]
    before = await scalar(db, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant.id)

    bad_phone = {
        "service_id": service,
        "starts_at": iso(at(day, "10:00")),
        "customer": {"name": "J", "phone": "555"},
    }
    problem = error(
        await client.post("/api/v1/bookings", json=bad_phone, headers=tenant.auth), 422, "VALIDATION_ERROR"
    )
    assert problem["details"]["errors"][0]["field"] == "customer.phone"

    no_contact = {"service_id": service, "starts_at": iso(at(day, "10:00")), "customer": {"name": "J"}}
    error(
        await client.post("/api/v1/bookings", json=no_contact, headers=tenant.auth), 422, "VALIDATION_ERROR"
    )

    naive = {
        "service_id": service,
        "starts_at": "2027-01-04T10:00:00",
        "customer": {"name": "J", "email": "j@x.org"},
    }
    problem = error(
        await client.post("/api/v1/bookings", json=naive, headers=tenant.auth), 422, "VALIDATION_ERROR"
    )
    assert problem["details"]["errors"][0]["field"] == "starts_at"

    unknown_service = {
        **bad_phone,
        "service_id": str(uuid.uuid4()),
        "customer": {"name": "J", "email": "j@x.org"},
    }
    error(await client.post("/api/v1/bookings", json=unknown_service, headers=tenant.auth), 404, "NOT_FOUND")
    error(
        await client.get(
            "/api/v1/availability",
            params={"service_id": str(uuid.uuid4()), "from": day.isoformat()},
            headers=tenant.auth,
        ),
        404,
        "NOT_FOUND",
    )
    backwards = await client.get(
        "/api/v1/availability",
        params={"service_id": service, "from": day.isoformat(), "to": local_day(1).isoformat()},
        headers=tenant.auth,
    )
    assert error(backwards, 422, "VALIDATION_ERROR")["details"]["errors"][0]["field"] == "to"
    too_wide = await client.get(
        "/api/v1/availability",
        params={"service_id": service, "from": day.isoformat(), "to": local_day(60).isoformat()},
        headers=tenant.auth,
    )
    error(too_wide, 422, "VALIDATION_ERROR")

    malformed = await client.post(
        "/api/v1/bookings", content=b"{not json", headers={**tenant.auth, "Content-Type": "application/json"}
    )
    error(malformed, 422, "VALIDATION_ERROR")
    error(await client.get("/api/v1/nothing-here", headers=tenant.auth), 404, "NOT_FOUND")
    error(await client.put("/api/v1/bookings", headers=tenant.auth), 405, "METHOD_NOT_ALLOWED")
    assert await scalar(db, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant.id) == before


async def test_a_lost_race_leaves_no_half_written_rows(client, tenant, db):
    when = iso(at(local_day(3), "14:00"))
    first = {
        "service_id": tenant.services["Check-up"],
        "starts_at": when,
        "customer": {"name": "A", "phone": "+16175550101"},
    }
    assert (await client.post("/api/v1/bookings", json=first, headers=tenant.auth)).status_code == 201
    second = {**first, "customer": {"name": "New Patient", "phone": "+16175550102"}}
    error(await client.post("/api/v1/bookings", json=second, headers=tenant.auth), 409, "SLOT_TAKEN")
    new_patient = "SELECT count(*) FROM customers WHERE tenant_id = :t AND phone = '+16175550102'"
    assert await scalar(db, new_patient, t=tenant.id) == 0
    # One-step bookings write no hold at all; the loser left none either, and one appointment stands.
    assert await scalar(db, "SELECT count(*) FROM holds WHERE tenant_id = :t", t=tenant.id) == 0
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def test_keys_isolate_tenants(client, make_tenant):
    clinic, salon = await make_tenant(), await make_tenant()
    day = local_day(3)
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": clinic.services["Check-up"],
            "starts_at": iso(at(day, "10:00")),
            "customer": {"name": "J", "email": "j@x.org"},
        },
        headers=clinic.auth,
    )
    appointment = booked.json()

    # the salon's key sees none of it, and cannot tell it exists
    for path in (f"/api/v1/bookings/{appointment['id']}", f"/api/v1/bookings/{appointment['reference']}"):
        error(await client.get(path, headers=salon.auth), 404, "NOT_FOUND")
    error(
        await client.post(f"/api/v1/bookings/{appointment['id']}/cancel", json={}, headers=salon.auth),
        404,
        "NOT_FOUND",
    )
    error(
        await client.post(
            f"/api/v1/bookings/{appointment['id']}/reschedule",
            json={"starts_at": iso(at(day, "11:00"))},
            headers=salon.auth,
        ),
        404,
        "NOT_FOUND",
    )
    error(
        await client.get(
            "/api/v1/availability",
            params={"service_id": clinic.services["Check-up"], "from": day.isoformat()},
            headers=salon.auth,
        ),
        404,
        "NOT_FOUND",
    )
    foreign_provider = {
        "service_id": salon.services["Consultation"],
        "provider_id": clinic.providers["Dr. Adams"],
        "starts_at": iso(at(day, "10:00")),
        "customer": {"name": "J", "email": "j@x.org"},
    }
    error(await client.post("/api/v1/bookings", json=foreign_provider, headers=salon.auth), 404, "NOT_FOUND")
    assert (await client.get("/api/v1/bookings", headers=salon.auth)).json()["items"] == []
    clinic_key_id = (await client.get("/api/v1/api-keys", headers=clinic.auth)).json()[0]["id"]
    error(await client.delete(f"/api/v1/api-keys/{clinic_key_id}", headers=salon.auth), 404, "NOT_FOUND")
    # the clinic is untouched
    still = await client.get(f"/api/v1/bookings/{appointment['id']}", headers=clinic.auth)
    assert still.json()["status"] == "booked"


async def test_key_lifecycle_and_revocation(client, tenant, db):
    error(await client.get("/api/v1/services"), 401, "UNAUTHORIZED")
    error(
        await client.get("/api/v1/services", headers={"Authorization": "Bearer sk_live_nope"}),
        401,
        "UNAUTHORIZED",
    )

    created = await client.post(
        "/api/v1/api-keys", json={"kind": "secret", "name": "billing system"}, headers=tenant.auth
    )
    assert created.status_code == 201, created.text
    second = {"Authorization": f"Bearer {created.json()['key']}"}
    assert (await client.get("/api/v1/services", headers=second)).status_code == 200

    revoked = await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=tenant.auth)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    error(await client.get("/api/v1/services", headers=second), 401, "UNAUTHORIZED")

    widget = await client.post(
        "/api/v1/api-keys",
        json={"kind": "publishable", "allowed_origins": ["https://clinic.example", "http://localhost:3000"]},
        headers=tenant.auth,
    )
    assert widget.status_code == 201 and widget.json()["key"].startswith("pk_live_")
    publishable = {"Authorization": f"Bearer {widget.json()['key']}"}
    error(await client.get("/api/v1/services", headers=publishable), 403, "FORBIDDEN")
    no_origin = await client.post("/api/v1/api-keys", json={"kind": "publishable"}, headers=tenant.auth)
    error(no_origin, 422, "VALIDATION_ERROR")
    bad_origin = await client.post(
        "/api/v1/api-keys",
        json={"kind": "publishable", "allowed_origins": ["clinic.example/path"]},
        headers=tenant.auth,
    )
    error(bad_origin, 422, "VALIDATION_ERROR")

    # the last live secret key cannot be revoked: the tenant would lock itself out
    own_id = next(
        k["id"]
        for k in (await client.get("/api/v1/api-keys", headers=tenant.auth)).json()
        if k["revoked_at"] is None and k["kind"] == "secret"
    )
    error(await client.delete(f"/api/v1/api-keys/{own_id}", headers=tenant.auth), 409, "CONFLICT")
    actions = await rows(
        db,
        "SELECT action, details FROM audit_log WHERE tenant_id = :t AND entity_type = 'api_key' ORDER BY id",
        t=tenant.id,
    )
    assert [a["action"] for a in actions] == ["api_key.created", "api_key.revoked", "api_key.created"]


async def test_admin_can_issue_a_recovery_key(client, tenant):
    issued = await client.post(
        f"/api/v1/tenants/{tenant.id}/api-keys", json={"kind": "secret"}, headers=ADMIN
    )
    assert issued.status_code == 201
    tenant_view = await client.get(
        "/api/v1/tenant", headers={"Authorization": f"Bearer {issued.json()['key']}"}
    )
    assert tenant_view.json()["slug"] == tenant.slug
    error(
        await client.post(f"/api/v1/tenants/{uuid.uuid4()}/api-keys", json={"kind": "secret"}, headers=ADMIN),
        404,
        "NOT_FOUND",
    )


async def test_audit_rows_are_redacted_and_carry_the_correlation_id(client, tenant, db):
    body = {
        "service_id": tenant.services["Check-up"],
        "starts_at": iso(at(local_day(3), "16:00")),
        "customer": {"name": "Jane Doe", "phone": "+16175550100", "email": "jane.doe@example.com"},
        "notes": "call me on 617 555 0100 about my tooth",
    }
    response = await client.post(
        "/api/v1/bookings", json=body, headers={**tenant.auth, "X-Correlation-Id": "req-42"}
    )
    assert response.headers["x-correlation-id"] == "req-42"
    [row] = await rows(
        db,
        "SELECT actor, correlation_id, details::text AS details FROM audit_log"
        " WHERE tenant_id = :t AND action = 'appointment.booked'",
        t=tenant.id,
    )
    assert row["correlation_id"] == "req-42"
    assert row["actor"].startswith("key:sk_live_")
    for secret in ("Jane", "Doe", "6175550100", "555 0100", "jane.doe", "tooth"):
        assert secret not in row["details"], secret
    assert "***@example.com" in row["details"] and "00" in row["details"]


async def test_an_exhausted_connection_pool_is_a_retryable_503(settings, tenant):
    from backend.app import create_app

    tight = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.2}
    )
    app = create_app(tight)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://frontdesk.test") as http:
        async with app.state.db.engine.connect():  # someone else holds the only connection
            busy = await http.get("/api/v1/services", headers=tenant.auth)
        problem = error(busy, 503, "SERVER_BUSY")
        assert problem["retryable"] is True and busy.headers["retry-after"] == "1"
        assert (await http.get("/api/v1/services", headers=tenant.auth)).status_code == 200
    await app.state.db.dispose()
    await app.state.redis.aclose()
