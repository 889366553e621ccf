"""A refused Socket.IO connection says why, and when a limit lifts, when to retry — over the
WebSocket handshake too, which a limit used to answer with an empty 403 (issue 25). Driven against
a `frontdesk serve` of its own with the abuse limits on."""

from __future__ import annotations

import pytest
import socketio

from tests.conftest import LIMITED_CHATS_PER_ADDRESS as PER_ADDRESS
from tests.webchat.test_chat_flood import clinic_widget_key
from tests.webchat.test_webchat_socket import Client


async def refused(base_url: str, key: str) -> dict:
    client = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(base_url, key)
    assert isinstance(client.refusal, dict), client.refusal
    return client.refusal


async def test_a_limit_refuses_a_connection_with_the_reason_and_when_to_retry(limited_server):
    key = clinic_widget_key(limited_server.base_url)
    opened = []
    for _ in range(2):
        client = Client()
        await client.connect(limited_server.base_url, key)
        opened.append(client)
    # The widget key's ceiling on new conversations.
    ceiling = await refused(limited_server.base_url, key)
    assert "too many new conversations" in ceiling["message"]
    assert ceiling["data"]["code"] == "RATE_LIMITED" and ceiling["data"]["retry_after_seconds"] >= 1

    # New connections from one address: the WebSocket handshake itself is over the limit.
    token = (await opened[0].sio.call("hello", {"last_seq": 0}))["token"]
    for _ in range(PER_ADDRESS):
        client = Client()
        try:
            await client.connect(limited_server.base_url, key, token=token)
        except socketio.exceptions.ConnectionError:
            break
        await client.sio.disconnect()
    by_address = client.refusal
    assert isinstance(by_address, dict), by_address
    assert f"at most {PER_ADDRESS} per 1 minute" in by_address["message"]
    assert by_address["data"]["code"] == "RATE_LIMITED"
    assert 1 <= by_address["data"]["retry_after_seconds"] <= 60
    # The inbox's namespace is refused the same way.
    staff = socketio.AsyncClient(reconnection=False)
    refusals: list[object] = []
    staff.on("connect_error", refusals.append, namespace="/staff")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await staff.connect(
            limited_server.base_url,
            namespaces=["/staff"],
            headers={"Origin": limited_server.base_url},
            transports=["websocket"],
        )
    assert refusals and refusals[0]["data"]["code"] == "RATE_LIMITED"
    for client in opened:
        await client.sio.disconnect()
