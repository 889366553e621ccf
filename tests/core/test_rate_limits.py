"""Abuse limits: per address on the public endpoints, per key and per clinic on the API, per widget
key on new conversations. Over a limit is a 429 in the error envelope, with the headers a client
needs to back off; under it nothing changes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.app import create_app
from tests.conftest import ADMIN_SECRET, tenant_spec


@pytest.fixture
async def limited(settings) -> AsyncIterator[httpx.AsyncClient]:
    config = settings.model_copy(
        update={
            "rate_limits_enabled": True,
            "rate_limit_chat_per_ip": "3/minute",
            "rate_limit_pages_per_ip": "2/minute",
            "rate_limit_api_per_key": "5/minute",
            "rate_limit_conversations_per_widget_key": "2/hour",
            # The key's own ceiling, undivided (tests/webchat/test_widget_key_shares.py divides it).
            "widget_key_share_per_address": 1.0,
            "widget_key_share_per_network": 1.0,
        }
    )
    app = create_app(config)
    # A fresh address per test: the windows live in the shared Redis.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://frontdesk.test") as client:
        yield client
    await app.state.webhook_sender.close()
    await app.state.db.dispose()
    await app.state.redis.aclose()


async def new_tenant(client: httpx.AsyncClient, **settings: object) -> dict:
    spec = tenant_spec()
    spec["settings"] = {**spec["settings"], **settings}
    made = await client.post("/api/v1/tenants", json=spec, headers={"X-Admin-Secret": ADMIN_SECRET})
    assert made.status_code == 201, made.text
    return made.json()


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED" and error["retryable"] is True
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Remaining"] == "0" and int(response.headers["RateLimit-Limit"]) > 0


async def test_one_address_opening_chats_without_end_is_told_to_wait(limited):
    made = await new_tenant(limited)
    auth = {"Authorization": f"Bearer {made['api_key']['key']}"}
    widget = await limited.post(
        "/api/v1/api-keys",
        headers=auth,
        json={"kind": "publishable", "allowed_origins": ["https://clinic.example"]},
    )
    headers = {"X-Widget-Key": widget.json()["key"], "Origin": "https://clinic.example"}
    answers = [await limited.post("/api/v1/chat/sessions", json={}, headers=headers) for _ in range(4)]
    # Two conversations for the widget key, the third refused by the key's limit, the fourth by the address's.
    assert [a.status_code for a in answers[:2]] == [200, 200]
    assert_limited(answers[2])
    assert (
        "2 per 1 hour" in answers[2].json()["error"]["message"]
        or "2/hour" in answers[2].json()["error"]["message"]
    )
    assert_limited(answers[3])


async def test_a_key_hammering_the_api_gets_429_with_headers_and_other_keys_do_not(limited):
    made = await new_tenant(limited)
    auth = {"Authorization": f"Bearer {made['api_key']['key']}"}
    answers = [await limited.get("/api/v1/services", headers=auth) for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert_limited(answers[5])
    other = await new_tenant(limited)
    assert (
        await limited.get("/api/v1/services", headers={"Authorization": f"Bearer {other['api_key']['key']}"})
    ).status_code == 200


async def test_the_clinics_own_quota_spans_all_its_keys(limited, settings):
    made = await new_tenant(limited, api_requests_per_minute=10)
    first = {"Authorization": f"Bearer {made['api_key']['key']}"}
    second_key = await limited.post("/api/v1/api-keys", headers=first, json={"kind": "secret"})
    second = {"Authorization": f"Bearer {second_key.json()['key']}"}
    answers = [await limited.get("/api/v1/providers", headers=first if n % 2 else second) for n in range(9)]
    assert all(a.status_code == 200 for a in answers)
    assert_limited(await limited.get("/api/v1/providers", headers=first))


async def test_public_pages_and_twilio_webhooks_are_limited_before_any_work(limited):
    pages = [await limited.get(f"/o/not-a-real-offer-{n}") for n in range(3)]
    assert pages[0].status_code != 429 and pages[1].status_code != 429
    assert_limited(pages[2])
