"""Webhook tests share one database: each starts with no endpoints, so a pump run by one test
delivers only to that test's receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from backend.core.db import Database
from backend.core.settings import Settings
from backend.events.pump import WebhookPump
from tests.conftest import TenantHandle, at, iso, local_day

JANE = {"name": "Jane Doe", "phone": "(617) 555-0100", "email": "jane@example.com"}


@pytest.fixture(autouse=True)
async def no_endpoints(db: Database) -> AsyncIterator[None]:
    async def clear(session: Any) -> None:
        await session.execute(text("DELETE FROM webhook_endpoints"))

    await db.transaction(clear)
    yield
    await db.transaction(clear)


@pytest.fixture
async def pump(db: Database, settings: Settings) -> AsyncIterator[WebhookPump]:
    pump = WebhookPump(db, settings)
    yield pump
    await pump.sender.close()


async def add_endpoint(
    client: httpx.AsyncClient, tenant: TenantHandle, url: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhook-endpoints", json={"url": url, **fields}, headers=tenant.auth
    )
    assert response.status_code == 201, response.text
    return response.json()


async def book(
    client: httpx.AsyncClient, tenant: TenantHandle, hh_mm: str, days: int = 3, **headers: str
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": iso(at(local_day(days), hh_mm)),
            "customer": JANE,
        },
        headers={**tenant.auth, **headers},
    )
    assert response.status_code == 201, response.text
    return response.json()


def later(now: datetime, **delta: float) -> datetime:
    return now + timedelta(**delta)
