"""A script firing thousands of events at one chat connection (issue 25's finding: 5,000 of them
starved the database pool and kept another clinic's chat waiting for most of a minute): beyond a
few messages in flight it is refused at once, every event is answered, and other clinics' chats
carry on."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.conftest import ADMIN_SECRET, tenant_spec
from tests.webchat.test_webchat_socket import PAGE, Client

FLOOD = 300
# A bound for a test that would otherwise hang, not a measurement.
PATIENCE = 60


def clinic_widget_key(base_url: str, page: str = PAGE) -> str:
    """A new clinic on the server, and a publishable key for `page`."""
    made = httpx.post(
        f"{base_url}/api/v1/tenants", json=tenant_spec(), headers={"X-Admin-Secret": ADMIN_SECRET}
    )
    assert made.status_code == 201, made.text
    key = httpx.post(
        f"{base_url}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {made.json()['api_key']['key']}"},
        json={"kind": "publishable", "allowed_origins": [page]},
    )
    assert key.status_code == 201, key.text
    return key.json()["key"]


@pytest.fixture(scope="module")
def widget_keys(live_server) -> tuple[str, str]:
    return clinic_widget_key(live_server.base_url), clinic_widget_key(live_server.base_url)


async def flood(client: Client, event: str, count: int) -> asyncio.Future[list[dict]]:
    """Emit `count` events at once; the future holds every acknowledgement once all have come."""
    answers: list[dict] = []
    done: asyncio.Future[list[dict]] = asyncio.get_running_loop().create_future()

    def ack(reply: dict) -> None:
        answers.append(reply)
        if len(answers) == count and not done.done():
            done.set_result(answers)

    for n in range(count):
        data = {"text": f"hello {n}", "client_message_id": f"flood-{n}"} if event == "message" else {}
        await client.sio.emit(event, data, callback=ack)
    return done


async def test_a_flood_on_one_connection_is_refused_at_once_and_another_clinic_is_answered(
    live_server, widget_keys
):
    flooded, other = widget_keys
    attacker = Client()
    await attacker.connect(live_server.base_url, flooded)
    await attacker.sio.call("hello", {"last_seq": 0})
    answered = await flood(attacker, "message", FLOOD)

    patient = Client()
    await patient.connect(live_server.base_url, other)
    await patient.sio.call("hello", {"last_seq": 0})
    ack = await patient.sio.call("message", {"text": "what are your opening hours?"}, timeout=PATIENCE)
    assert ack["ok"] is True
    await patient.wait_for(2)
    assert patient.messages[1]["role"] == "assistant" and "opening hours" in patient.messages[1]["text"]

    answers = await asyncio.wait_for(answered, PATIENCE)
    codes = Counter("ok" if a.get("ok") else a["error"]["code"] for a in answers)
    # A few were answered; all the rest refused on the spot — none timed out waiting for the
    # database or for the turn.
    assert set(codes) == {"ok", "RATE_LIMITED"}, codes
    assert codes["RATE_LIMITED"] >= FLOOD - 20
    refused = [a["error"] for a in answers if not a.get("ok")]
    assert all(r["retry_after_seconds"] >= 1 for r in refused)

    # Hellos (each a read of the history) are held to the same few in flight.
    hellos = await asyncio.wait_for(await flood(attacker, "hello", 100), PATIENCE)
    assert {("token" in h) or h["error"]["code"] for h in hellos} <= {True, "RATE_LIMITED"}
    await attacker.sio.disconnect()
    await patient.sio.disconnect()
