"""Choosing what each calendar is for, and the calendar endpoints under bad input: malformed or
huge values, a server that is not CalDAV, another clinic's ids, staff without the right, no CSRF
token. Every refusal is a clear 4xx and leaves nothing behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from tests.calendars.conftest import connect_caldav, free_times, vevent
from tests.conftest import at, local_day
from tests.fakes.serving import free_port, serving
from tests.support.workspace import invite_staff, new_clinic


@pytest.fixture
async def not_caldav() -> AsyncIterator[str]:
    """A web server that answers every request, PROPFIND included, with an HTML page."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PROPFIND", "REPORT", "OPTIONS"])
    async def page(request: Request, path: str) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome to our clinic</body></html>")

    port = free_port()
    async with serving(app, port):
        yield f"http://127.0.0.1:{port}/"


async def test_a_calendar_stops_blocking_and_bookings_move_to_the_calendar_chosen(
    client, tenant, radicale, calendar_sync
):
    account = radicale.new_account()
    work = account.make_calendar("Work")
    account.make_calendar("Private")
    day = local_day(7)
    start, end = at(day, "10:00").astimezone(UTC), at(day, "11:00").astimezone(UTC)
    work.save_event(
        vevent(
            "meeting",
            "BEGIN:VEVENT\nUID:{UID}\nDTSTAMP:20260101T000000Z\n"
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}\nDTEND:{end:%Y%m%dT%H%M%SZ}\nEND:VEVENT",
        )
    )
    connection = await connect_caldav(client, tenant, account)
    calendars = {c["name"]: c for c in connection["calendars"]}
    assert [c["receives_bookings"] for c in calendars.values()].count(True) == 1
    await calendar_sync.sync_connection(connection["id"], datetime.now(UTC))
    assert "10:00" not in await free_times(client, tenant, day)

    stopped = await client.patch(
        f"/api/v1/calendars/{calendars['Work']['id']}", json={"blocks_time": False}, headers=tenant.auth
    )
    assert stopped.status_code == 200 and stopped.json()["blocks_time"] is False
    assert "10:00" in await free_times(client, tenant, day), "a calendar that stops blocking frees its time"

    moved = await client.patch(
        f"/api/v1/calendars/{calendars['Private']['id']}",
        json={"receives_bookings": True},
        headers=tenant.auth,
    )
    assert moved.status_code == 200
    listed = (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json()
    receivers = [c["name"] for c in listed[0]["calendars"] if c["receives_bookings"]]
    assert receivers == ["Private"]


async def test_malformed_huge_and_not_caldav_input_is_refused_clearly_and_stores_nothing(
    client, tenant, radicale, not_caldav
):
    account = radicale.new_account()
    account.make_calendar("Work")
    path = f"/api/v1/providers/{tenant.providers['Dr. Adams']}/calendar-connections/caldav"
    good = {"server_url": account.server_url, "username": account.username, "password": account.password}
    for bad, field in (
        ({**good, "server_url": "http://[::1"}, "server_url"),
        ({**good, "server_url": "ftp://calendar.example"}, "server_url"),
        ({**good, "server_url": "https://me:secret@calendar.example/"}, "server_url"),
        ({**good, "server_url": "https://calendar.example:99999/"}, "server_url"),
        ({**good, "password": "x" * 10_000}, "password"),
        ({**good, "username": ""}, "username"),
        ({**good, "colour": "blue"}, "colour"),
        ({**good, "server_url": not_caldav}, "server_url"),
        ({**good, "server_url": "http://127.0.0.1:9/"}, "server_url"),
    ):
        response = await client.post(path, json=bad, headers=tenant.auth)
        assert response.status_code == 422, (bad, response.text)
        fields = [e["field"] for e in response.json()["error"]["details"]["errors"]]
        assert any(field in f for f in fields), (bad, fields)
    assert (await client.post(path, content=b"{not json", headers=tenant.auth)).status_code == 422
    assert (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json() == []

    connection = await connect_caldav(client, tenant, account)
    calendar_id = connection["calendars"][0]["id"]
    assert (
        await client.patch(f"/api/v1/calendars/{calendar_id}", json={}, headers=tenant.auth)
    ).status_code == 422
    again = await client.post(path, json=good, headers=tenant.auth)
    assert again.status_code == 409, "the same account twice for one provider"


async def test_another_clinics_calendar_ids_are_not_found_and_left_untouched(client, make_tenant, radicale):
    owner, other = await make_tenant(), await make_tenant()
    account = radicale.new_account()
    account.make_calendar("Work")
    connection = await connect_caldav(client, owner, account)
    calendar_id = connection["calendars"][0]["id"]
    for method, path, body in (
        ("PATCH", f"/api/v1/calendars/{calendar_id}", {"blocks_time": False}),
        ("POST", f"/api/v1/calendar-connections/{connection['id']}/sync", None),
        ("DELETE", f"/api/v1/calendar-connections/{connection['id']}", None),
        ("POST", f"/api/v1/calendar-conflicts/{connection['id']}/dismiss", None),
        (
            "POST",
            f"/api/v1/providers/{owner.providers['Dr. Adams']}/calendar-connections/caldav",
            {"server_url": account.server_url, "username": "x", "password": "y"},
        ),
    ):
        response = await client.request(method, path, json=body, headers=other.auth)
        assert response.status_code == 404, (method, path, response.text)
    listed = (await client.get("/api/v1/calendar-connections", headers=owner.auth)).json()
    assert [c["id"] for c in listed] == [connection["id"]] and listed[0]["calendars"][0]["blocks_time"]
    assert (await client.get("/api/v1/calendar-connections", headers=other.auth)).json() == []


async def test_staff_cannot_connect_calendars_and_a_session_needs_its_csrf_token(client, radicale):
    owner = await new_clinic(client)
    staff = await invite_staff(owner, client)
    providers = (await owner.http.get("/api/v1/providers")).json()
    account = radicale.new_account()
    account.make_calendar("Work")
    body = {"server_url": account.server_url, "username": account.username, "password": account.password}
    path = f"/api/v1/providers/{providers[0]['id']}/calendar-connections/caldav"
    assert (await staff.http.post(path, json=body, headers=staff.headers())).status_code == 403
    assert (await owner.http.post(path, json=body)).status_code == 403, "no CSRF token"
    assert (await owner.http.get("/api/v1/calendar-connections")).json() == []
    assert (await owner.http.post(path, json=body, headers=owner.headers())).status_code == 201
    page = await staff.http.get("/app/calendars")
    assert page.status_code == 200 and "Connect CalDAV calendar" not in page.text
    no_google = await owner.http.get(f"/app/calendars/google/start?provider_id={providers[0]['id']}")
    assert no_google.status_code == 422 and "not set up" in no_google.text
    forged = await owner.http.get("/app/calendars/google/callback?code=abc&state=xyz")
    assert forged.status_code == 422


async def test_google_notifications_for_unknown_channels_or_without_headers_are_refused(client):
    unknown = await client.post(
        "/calendars/google/notifications", headers={"X-Goog-Channel-ID": "nope", "X-Goog-Channel-Token": "t"}
    )
    assert unknown.status_code == 404
    assert (await client.post("/calendars/google/notifications")).status_code == 422
    huge = await client.post("/calendars/google/notifications", headers={"X-Goog-Channel-ID": "x" * 5000})
    assert huge.status_code == 422
