"""A widget key's ceiling on new conversations cannot be turned against its clinic: one address,
or one network, gets only a small share of it, so a script cannot lock the clinic's real visitors
out; and when the ceiling itself is reached, the clinic hears of it, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from backend.app import create_app
from backend.webchat.conversation_starts import address_and_network
from tests.core.test_rate_limits import assert_limited, new_tenant
from tests.support.db import rows

PAGE = "https://clinic.example"


@pytest.fixture
async def visitors(settings) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """Clients of one app (ceiling 10 an hour: 2 per address, 4 per network), each from an address."""
    config = settings.model_copy(
        update={
            "rate_limits_enabled": True,
            "rate_limit_chat_per_ip": "1000/minute",
            "rate_limit_conversations_per_widget_key": "10/hour",
            "widget_key_share_per_address": 0.2,
            "widget_key_share_per_network": 0.4,
        }
    )
    app = create_app(config)
    clients: list[httpx.AsyncClient] = []

    def visitor(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://frontdesk.test"))
        return clients[-1]

    yield visitor
    for client in clients:
        await client.aclose()
    await app.state.webhook_sender.close()
    await app.state.db.dispose()
    await app.state.redis.aclose()


async def widget_key(client: httpx.AsyncClient, **settings: object) -> tuple[dict, dict[str, str]]:
    made = await new_tenant(client, **settings)
    key = await client.post(
        "/api/v1/api-keys",
        headers={"Authorization": f"Bearer {made['api_key']['key']}"},
        json={"kind": "publishable", "allowed_origins": [PAGE]},
    )
    return made, {"X-Widget-Key": key.json()["key"], "Origin": PAGE}


async def start(client: httpx.AsyncClient, headers: dict[str, str], count: int = 1) -> list[httpx.Response]:
    return [await client.post("/api/v1/chat/sessions", json={}, headers=headers) for _ in range(count)]


async def test_one_address_or_network_cannot_spend_the_keys_ceiling_and_the_clinic_is_told_once(visitors, db):
    made, headers = await widget_key(visitors("192.0.2.1"), alert_email="alerts@clinic.example")
    script = visitors("198.51.100.7")
    first, second, third = await start(script, headers, 3)
    assert [first.status_code, second.status_code] == [200, 200]
    assert_limited(third)
    assert "from your address" in third.json()["error"]["message"]
    # The script's neighbours in its /24 share one allowance between them.
    assert [r.status_code for r in await start(visitors("198.51.100.8"), headers, 2)] == [200, 200]
    neighbour = (await start(visitors("198.51.100.9"), headers))[0]
    assert_limited(neighbour)
    assert "from your network" in neighbour.json()["error"]["message"]

    # Real visitors elsewhere are still let in: the script used 4 of the key's 10.
    elsewhere = [visitors(f"203.0.{n}.10") for n in range(3)]
    for visitor in elsewhere:
        assert [r.status_code for r in await start(visitor, headers, 2)] == [200, 200]
    # Now the key's own ceiling is reached: the next visitor is refused, and the clinic is told.
    late = await start(visitors("203.0.113.99"), headers)
    assert_limited(late[0])
    assert "too many new conversations: at most 10 per 1 hour" in late[0].json()["error"]["message"]
    # A conversation already open goes on.
    token = first.json()["token"]
    resumed = await script.post("/api/v1/chat/sessions", json={"token": token}, headers=headers)
    assert resumed.status_code == 200

    assert_limited((await start(visitors("203.0.114.1"), headers))[0])
    tenant = made["tenant"]["id"]
    mails = await rows(
        db,
        "SELECT recipient, subject, urgent FROM notification_outbox WHERE tenant_id = :t AND kind = :k",
        t=tenant,
        k="widget_key_limit",
    )
    assert [(m["recipient"], m["urgent"]) for m in mails] == [("alerts@clinic.example", True)]
    assert "turning visitors away" in mails[0]["subject"]
    alerts = await rows(
        db,
        "SELECT data FROM domain_events WHERE tenant_id = :t AND type = 'widget_key.limit_reached'",
        t=tenant,
    )
    assert len(alerts) == 1 and alerts[0]["data"]["limit"] == "10 per 1 hour"
    assert alerts[0]["data"]["retry_after_seconds"] >= 1


async def test_an_ipv6_visitor_is_one_address_per_64_and_one_network_per_48():
    assert address_and_network("2001:db8:1:2:aaaa::1") == ("2001:db8:1:2::/64", "2001:db8:1::/48")
    assert address_and_network("2001:db8:1:2:bbbb::9")[0] == "2001:db8:1:2::/64"
    assert address_and_network("::ffff:198.51.100.7") == ("198.51.100.7", "198.51.100.0/24")
    assert address_and_network("unknown") == ("unknown", "unknown")
