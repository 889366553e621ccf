"""CalDAV requests go through the SSRF guard at every connection (issue 25): a name that resolves to a
private address at the next sync (DNS rebinding) and a redirect to a private address are refused
before anything is sent there; a server that answers PROPFIND with a plain 200 is a clear 422."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from ipaddress import ip_network

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse

from backend.app import create_app
from backend.calendars.sync import CalendarSync
from tests.calendars.conftest import connect_caldav, free_times, vevent
from tests.conftest import at, local_day
from tests.fakes.serving import free_port, serving

# Loopback is private; 127.0.0.1 plays a clinic's server that the guard lets through, and
# 127.0.0.2 (also this machine) plays an internal service nobody may be sent to.
CLINIC_SERVER = [ip_network("127.0.0.1/32")]


@pytest.fixture
async def internal_service() -> AsyncIterator[tuple[str, list[str]]]:
    """An internal address that records every request that reaches it."""
    reached: list[str] = []
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "PROPFIND", "REPORT", "OPTIONS"])
    async def record(request: Request, path: str) -> PlainTextResponse:
        reached.append(f"{request.method} /{path}")
        return PlainTextResponse("internal secrets")

    port = free_port()
    async with serving(app, port, host="127.0.0.2"):
        yield f"http://127.0.0.2:{port}/", reached


@pytest.fixture
async def redirector(internal_service) -> AsyncIterator[str]:
    """A CalDAV address whose server sends every request on to the internal service."""
    target, _ = internal_service
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "PROPFIND", "REPORT", "OPTIONS"])
    async def away(path: str) -> RedirectResponse:
        return RedirectResponse(target + path, status_code=307)

    port = free_port()
    async with serving(app, port):
        yield f"http://127.0.0.1:{port}/dav/"


@pytest.fixture
async def plain_200() -> AsyncIterator[str]:
    """A web server that answers everything, PROPFIND included, with a plain-text 200."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "PROPFIND", "REPORT", "OPTIONS"])
    async def ok(path: str) -> PlainTextResponse:
        return PlainTextResponse("OK")

    port = free_port()
    async with serving(app, port):
        yield f"http://127.0.0.1:{port}/dav/"


@pytest.fixture
async def guarded_client(settings) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a server that may reach the clinic's server on 127.0.0.1 and no other private address."""
    app = create_app(settings.model_copy(update={"calendar_private_networks": CLINIC_SERVER}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield http
    await app.state.webhook_sender.close()
    await app.state.db.dispose()
    await app.state.redis.aclose()


async def connect(http: httpx.AsyncClient, tenant, server_url: str) -> httpx.Response:
    return await http.post(
        f"/api/v1/providers/{tenant.providers['Dr. Adams']}/calendar-connections/caldav",
        json={"server_url": server_url, "username": "dr", "password": "app-password"},
        headers=tenant.auth,
    )


async def test_a_redirect_to_a_private_address_is_refused_before_anything_is_sent(
    client, guarded_client, tenant, redirector, internal_service
):
    _, reached = internal_service
    refused = await connect(guarded_client, tenant, redirector)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["details"]["errors"][0]["field"] == "server_url"
    assert "127.0.0.2" in error["message"] and "private" in error["message"]
    assert reached == []
    assert (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json() == []

    # In development (any address allowed) the same redirect is followed: the guard made the difference.
    await connect(client, tenant, redirector)
    assert reached


async def test_a_server_name_that_resolves_privately_at_the_next_sync_is_refused(
    client, tenant, radicale, db, settings
):
    account = radicale.new_account()
    calendar = account.make_calendar("Work")
    day = local_day(6)
    start, end = at(day, "10:00").astimezone(UTC), at(day, "11:00").astimezone(UTC)
    # Connected while its name resolved to an address the server could reach (development here)…
    by_name = account.server_url.replace("127.0.0.1", "localhost")
    connection = await connect_caldav(
        client, tenant, type(account)(by_name, account.username, account.password)
    )
    calendar.save_event(
        vevent(
            "meeting",
            "BEGIN:VEVENT\nUID:{UID}\nDTSTAMP:20260101T000000Z\n"
            f"DTSTART:{start:%Y%m%dT%H%M%SZ}\nDTEND:{end:%Y%m%dT%H%M%SZ}\nEND:VEVENT",
        )
    )
    # …then synced by a server that may reach no private address: the name is resolved again and
    # refused, so the busy time is never read and the connection shows why.
    guarded = CalendarSync(db, settings.model_copy(update={"calendar_private_networks": []}))
    result = await guarded.sync_connection(connection["id"], datetime.now(UTC))
    assert result.error is not None and "private" in result.error
    listed = (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json()
    assert listed[0]["status"] == "broken" and "public address" in listed[0]["last_error"]
    assert "10:00" in await free_times(client, tenant, day)


async def test_a_server_answering_propfind_with_a_plain_200_is_a_422(client, tenant, plain_200):
    response = await connect(client, tenant, plain_200)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["details"]["errors"][0]["field"] == "server_url"
    assert "not as a CalDAV server does" in error["message"]
    assert (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json() == []
