"""Calendar fixtures: a real Radicale for CalDAV, and helpers to connect a provider and read it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest

from backend.calendars.push import CalendarPusher
from backend.calendars.sync import CalendarSync
from backend.core.db import Database
from backend.core.settings import Settings
from tests.conftest import TenantHandle
from tests.fakes.radicale_server import CaldavAccount


@pytest.fixture
def calendar_sync(db: Database, settings: Settings) -> CalendarSync:
    return CalendarSync(db, settings)


@pytest.fixture
def pusher(db: Database, settings: Settings) -> CalendarPusher:
    return CalendarPusher(db, settings)


async def connect_caldav(
    client: httpx.AsyncClient, tenant: TenantHandle, account: CaldavAccount, provider: str = "Dr. Adams"
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/providers/{tenant.providers[provider]}/calendar-connections/caldav",
        json={"server_url": account.server_url, "username": account.username, "password": account.password},
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def free_times(
    client: httpx.AsyncClient, tenant: TenantHandle, day: date, service: str = "Check-up"
) -> list[str]:
    """The day's free start times as local HH:MM."""
    response = await client.get(
        "/api/v1/availability",
        params={"service_id": tenant.services[service], "from": day.isoformat()},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.text
    return [datetime.fromisoformat(s["starts_at"]).strftime("%H:%M") for s in response.json()["slots"]]


async def book_check_up(
    client: httpx.AsyncClient,
    tenant: TenantHandle,
    starts_at: datetime,
    name: str = "Ana Lopez",
    **contact: str,
) -> httpx.Response:
    """Dr. Adams, a check-up at `starts_at`, through the API."""
    return await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Check-up"],
            "provider_id": tenant.providers["Dr. Adams"],
            "starts_at": starts_at.isoformat(),
            "customer": {"name": name, "phone": "+12125550123", **contact},
        },
        headers=tenant.auth,
    )


def vevent(uid: str, lines: str, tzid: str = "America/New_York") -> str:
    """A VCALENDAR with one or more VEVENT blocks written as `lines` (TZID times use `tzid`)."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//calendar//EN\r\n"
        + lines.strip().replace("\n", "\r\n").replace("{TZ}", tzid).replace("{UID}", uid)
        + "\r\nEND:VCALENDAR\r\n"
    )
