"""The Socket.IO channel of a real `frontdesk serve` process, driven by the python-socketio client."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import socketio

from backend.conversations import lapses
from backend.messaging.actions import sweep_lapsed_holds
from backend.webchat.live import SocketLive
from tests.webchat.conftest import PAGE


class Client:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.messages: list[dict] = []
        self.typing: list[bool] = []
        self.refusal: object = None
        self.sio.on("connect_error", self._refused)
        self.sio.on("message", lambda data: self.messages.append(data))
        self.sio.on("typing", lambda data: self.typing.append(data["on"]))

    def _refused(self, data: object) -> None:
        self.refusal = data

    async def connect(self, base_url: str, key: str, origin: str = PAGE, token: str | None = None) -> None:
        await self.sio.connect(
            base_url, auth={"key": key, "token": token}, headers={"Origin": origin}, transports=["websocket"]
        )

    async def wait_for(self, count: int) -> None:
        for _ in range(200):
            if len(self.messages) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {count} messages, got {self.messages}")


@pytest.mark.parametrize(
    ("auth_key", "origin", "reason"),
    [
        (None, PAGE, "missing widget key"),
        ("pk_live_unknown", PAGE, "unknown or revoked widget key"),
        ("WIDGET", "https://evil.example", "origin https://evil.example is not allowed"),
        ("SECRET", PAGE, "publishable key"),
    ],
)
async def test_connections_are_refused_with_a_reason(live_server, widget_key, auth_key, origin, reason):
    key = {"WIDGET": widget_key, "SECRET": live_server.demo_key}.get(auth_key, auth_key)
    client = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(live_server.base_url, key, origin)
    assert reason in str(client.refusal)


async def test_messages_are_numbered_and_a_reconnect_gets_what_it_missed(live_server, widget_key):
    first = Client()
    await first.connect(live_server.base_url, widget_key)
    hello = await first.sio.call("hello", {"last_seq": 0})
    token = hello["token"]
    assert hello["messages"] == []

    ack = await first.sio.call("message", {"text": "hi", "client_message_id": "a1"})
    assert ack == {"ok": True, "seq": 1}
    await first.wait_for(2)
    assert [(m["seq"], m["role"]) for m in first.messages] == [(1, "patient"), (2, "assistant")]
    assert first.typing[0] is True and first.typing[-1] is False
    await first.sio.disconnect()

    # Another tab of the same conversation talks while the first is away.
    second = Client()
    await second.connect(live_server.base_url, widget_key, token=token)
    await second.sio.call("hello", {"last_seq": 2})
    await second.sio.call("message", {"text": "what are your opening hours?"})
    await second.wait_for(2)
    await second.sio.disconnect()

    back = Client()
    await back.connect(live_server.base_url, widget_key, token=token)
    missed = await back.sio.call("hello", {"last_seq": 2})
    assert missed["token"] == token
    assert [(m["seq"], m["role"]) for m in missed["messages"]] == [(3, "patient"), (4, "assistant")]
    assert "Mon-Fri" in missed["messages"][1]["text"]

    bad = await back.sio.call("message", {"text": "   "})
    assert bad == {"ok": False, "error": {"code": "VALIDATION_ERROR", "message": "the message is empty"}}
    await back.sio.disconnect()


async def _free_check_up(live_server) -> datetime:
    """A check-up time still free on the shared demo server, where other tests book too."""
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
        services = {s["name"]: s["id"] for s in (await api.get("/api/v1/services")).json()}
        monday = date.today() + timedelta(days=(7 - date.today().weekday()) % 7 or 7)
        found = await api.get(
            "/api/v1/availability", params={"service_id": services["Check-up"], "from": monday.isoformat()}
        )
    return datetime.fromisoformat(found.json()["slots"][0]["starts_at"])


async def test_a_lapsed_hold_is_said_at_once_and_a_late_yes_checks_the_time_again(
    live_server, widget_key, db, settings
):
    client = Client()
    await client.connect(live_server.base_url, widget_key)
    await client.sio.call("hello", {"last_seq": 0})
    at = await _free_check_up(live_server)
    clock = f"{at.hour % 12 or 12}:{at:%M} {'AM' if at.hour < 12 else 'PM'}"
    await client.sio.call("message", {"text": f"a check-up on {at:%B} {at.day} at {clock.lower()}"})
    await client.wait_for(3)
    assert "I'm holding" in client.messages[1]["text"] and clock in client.messages[1]["text"]

    # The worker's sweep, a few minutes on: the hold runs out and the chat is told through Redis.
    live = SocketLive(socketio.AsyncRedisManager(settings.redis_url, write_only=True))
    lapsed = await sweep_lapsed_holds(db, datetime.now(UTC) + timedelta(minutes=6))
    # Other tests' holds on the shared server may lapse in the same sweep: this chat is one told.
    assert await lapses.tell_chats(db, live, lapsed) >= 1
    await client.wait_for(4)
    notice = client.messages[3]
    assert notice["role"] == "assistant" and "has been released" in notice["text"] and clock in notice["text"]

    await client.sio.call("message", {"text": "yes"})
    await client.wait_for(6)
    assert "still free, so I'm holding it for you again" in client.messages[5]["text"]
    assert "has been released" not in " ".join(m["text"] for m in client.messages[5:])  # said once
    await client.sio.disconnect()
