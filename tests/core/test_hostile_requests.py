"""Every 5xx the security review found, each one request, now a clear 4xx naming the field (issue 25):
NUL characters in the URL, dates at year 0001 or 9999, sequence numbers past 32 bits, opening hours
that are not wall-clock times, time zones that are not IANA zones, origins that do not fit, and a
bug's 500 no longer closes the keep-alive connection."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from backend.app import create_app
from tests.conftest import at, iso, local_day
from tests.fakes.serving import free_port, serving
from tests.support.db import scalar

NOWHERE = "00000000-0000-0000-0000-000000000000"


def refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["errors"][0]["field"] == field, error
    return error["message"]


async def test_a_nul_anywhere_in_the_url_is_a_422_naming_the_parameter(client, tenant):
    for path, params, field in [
        ("/api/v1/customers", {"q": "Jane\x00"}, "q"),
        ("/api/v1/audit-log", {"actor": "a\x00b"}, "actor"),
        ("/api/v1/bookings", {"email": "a\x00@b.example"}, "email"),
        ("/api/v1/events", {"types": "booking.created\x00"}, "types"),
        (f"/api/v1/webhook-endpoints/{NOWHERE}/deliveries", {"event_type": "\x00"}, "event_type"),
        ("/api/v1/bookings/AB%00CD", {}, "path"),
    ]:
        message = refused(await client.get(path, params=params, headers=tenant.auth), field)
        assert "NUL" in message


async def test_dates_outside_the_calendar_the_api_takes_are_refused(client, tenant):
    service = tenant.services["Check-up"]
    customer = {"name": "Ana", "phone": "+16175550142"}
    for far in ("0001-01-01", "9999-12-31"):
        moment = f"{far}T10:00:00+05:00"
        answers = {
            "from": [
                await client.get(
                    "/api/v1/availability", params={"service_id": service, "from": far}, headers=tenant.auth
                ),
                await client.get("/api/v1/bookings", params={"from": far}, headers=tenant.auth),
                await client.get("/api/v1/audit-log", params={"from": far}, headers=tenant.auth),
            ],
            "starts_at": [
                await client.post(
                    "/api/v1/bookings",
                    json={"service_id": service, "starts_at": moment, "customer": customer},
                    headers=tenant.auth,
                ),
                await client.post(
                    "/api/v1/holds", json={"service_id": service, "starts_at": moment}, headers=tenant.auth
                ),
                await client.post(
                    "/api/v1/closures",
                    json={"starts_at": moment, "ends_at": f"{far}T11:00:00+05:00"},
                    headers=tenant.auth,
                ),
            ],
        }
        for field, responses in answers.items():
            for response in responses:
                assert "between 1900-01-01 and 2999-12-31" in refused(response, field)


async def test_a_sequence_number_past_32_bits_is_refused(client, tenant):
    key = await client.post(
        "/api/v1/api-keys",
        json={"kind": "publishable", "allowed_origins": ["https://clinic.example"]},
        headers=tenant.auth,
    )
    widget = {"X-Widget-Key": key.json()["key"], "Origin": "https://clinic.example"}
    token = (await client.post("/api/v1/chat/sessions", headers=widget, json={})).json()["token"]
    history = await client.get(
        "/api/v1/chat/messages", params={"after": 2**31}, headers=widget | {"X-Conversation-Token": token}
    )
    refused(history, "after")
    messages = await client.get(
        f"/api/v1/conversations/{NOWHERE}/messages", params={"after": 2**31}, headers=tenant.auth
    )
    refused(messages, "after")


async def test_opening_hours_are_wall_clock_times_and_nothing_else(client, tenant):
    path = f"/api/v1/providers/{tenant.providers['Dr. Adams']}/hours"
    for opens in (0, 32400, "08:00+02:00", "08:00Z", "8am"):
        hours = {"hours": [{"weekday": "mon", "opens_at": opens, "closes_at": "17:00"}]}
        message = refused(await client.put(path, json=hours, headers=tenant.auth), "hours.0.opens_at")
        assert "no UTC offset" in message
    kept = await client.get("/api/v1/providers", headers=tenant.auth)
    assert kept.status_code == 200  # nothing half-written: the provider still reads


async def test_quiet_hours_with_an_offset_are_refused_not_stored(client, tenant, db):
    for value in ("21:00+02:00", "21:00:00Z", 75600):
        response = await client.patch(
            "/api/v1/tenant/settings", json={"settings": {"quiet_hours_start": value}}, headers=tenant.auth
        )
        assert "no UTC offset" in refused(response, "settings.quiet_hours_start")
    stored = await scalar(db, "SELECT settings->>'quiet_hours_start' FROM tenants WHERE id = :t", t=tenant.id)
    assert stored == "21:00:00"


async def test_a_time_zone_must_be_an_iana_zone(client, tenant):
    for zone in ("A" * 300, "localtime", "Factory", "posixrules", "../../etc/passwd", "right/UTC"):
        response = await client.patch("/api/v1/tenant", json={"timezone": zone}, headers=tenant.auth)
        assert "unknown timezone" in refused(response, "timezone")
    fine = await client.patch("/api/v1/tenant", json={"timezone": "Europe/Paris"}, headers=tenant.auth)
    assert fine.status_code == 200 and fine.json()["timezone"] == "Europe/Paris"


async def test_a_widget_origin_must_fit_a_real_origin(client, tenant):
    long_host = ".".join(["a" * 60] * 5)  # 304 characters: longer than any host name may be
    for origin in ("https://clinic.example:0", "https://clinic.example:65536", f"https://{long_host}"):
        response = await client.post(
            "/api/v1/api-keys", json={"kind": "publishable", "allowed_origins": [origin]}, headers=tenant.auth
        )
        refused(response, "allowed_origins.0")
    fine = await client.post(
        "/api/v1/api-keys",
        json={"kind": "publishable", "allowed_origins": ["https://clinic.example:8443"]},
        headers=tenant.auth,
    )
    assert fine.status_code == 201


async def test_a_phone_with_an_extension_is_refused_not_cut_short(client, tenant):
    when = at(local_day(4), "10:00")
    for phone in ("+1 617 555 0177 x12", "6175550177 ext. 3", "tel:+16175550177", "1-800-FLOWERS"):
        response = await client.post(
            "/api/v1/bookings",
            json={
                "service_id": tenant.services["Check-up"],
                "starts_at": iso(when),
                "customer": {"name": "Ana Lopez", "phone": phone},
            },
            headers=tenant.auth,
        )
        assert "no extension" in refused(response, "customer.phone")
    listed = await client.get("/api/v1/bookings", params={"phone": "6175550177x"}, headers=tenant.auth)
    assert "no extension" in refused(listed, "phone")


async def test_only_times_on_the_grid_can_be_booked(client, tenant):
    day = local_day(5)
    for off_grid in ("09:05", "09:40", "10:20", "10:50", "11:25"):
        response = await client.post(
            "/api/v1/bookings",
            json={
                "service_id": tenant.services["Check-up"],
                "provider_id": tenant.providers["Dr. Adams"],
                "starts_at": iso(at(day, off_grid)),
                "customer": {"name": "Ana Lopez", "phone": "+16175550142"},
            },
            headers=tenant.auth,
        )
        assert response.status_code == 422, (off_grid, response.text)
        error = response.json()["error"]
        assert error["code"] == "SLOT_UNAVAILABLE" and "not a bookable start time" in error["message"]
    assert (
        "(the nearest are 09:00 and 09:15)"
        in (
            await client.post(
                "/api/v1/holds",
                json={"service_id": tenant.services["Check-up"], "starts_at": iso(at(day, "09:05"))},
                headers=tenant.auth,
            )
        ).json()["error"]["message"]
    )
    free = await client.get(
        "/api/v1/availability",
        params={"service_id": tenant.services["Check-up"], "from": day.isoformat()},
        headers=tenant.auth,
    )
    morning = [s["local_time"] for s in free.json()["slots"] if s["provider_name"] == "Dr. Adams"]
    assert morning[:4] == ["09:00", "09:15", "09:30", "09:45"]  # nothing was taken


@pytest.fixture
async def failing_server(settings):
    """The real app behind a real uvicorn, with one route that fails as a bug would."""
    app: FastAPI = create_app(settings)

    @app.get("/test-only/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    port = free_port()
    async with serving(app, port):
        yield port
    await app.state.db.dispose()
    await app.state.redis.aclose()


async def test_a_500_keeps_the_connection_open_for_the_next_request(failing_server):
    reader, writer = await asyncio.open_connection("127.0.0.1", failing_server)
    try:
        for path, status in (("/test-only/bug", b"500"), ("/health", b"200")):
            writer.write(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            await writer.drain()
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).lower()
            assert head.split()[1] == status, head
            assert b"connection: close" not in head
            length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            assert (b'"INTERNAL_ERROR"' in body) == (status == b"500")
    finally:
        writer.close()
