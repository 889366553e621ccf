"""One input contract for every transport: no field of a chat message can carry more than the
readers are bounded for, over Socket.IO exactly as over HTTP (the first critical finding of the
security review: a 60 KB `choice` froze the server)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import socketio

from tests.support.messaging import new_phone
from tests.support.phone import phone_lines
from tests.webchat.conftest import PAGE
from tests.webchat.test_webchat_socket import Client

HOSTILE = ["a@" * 1000, "+1" * 1000, "1 " * 1000, "a." * 1000, "2nd " * 500, "(1" * 1000]


async def test_an_oversized_choice_is_refused_before_anything_reads_it(live_server, widget_key):
    client = Client()
    await client.connect(live_server.base_url, widget_key)
    await client.sio.call("hello", {"last_seq": 0})
    health = asyncio.create_task(asyncio.to_thread(httpx.get, f"{live_server.base_url}/health", timeout=10))

    refused = await client.sio.call("message", {"text": "hi", "choice": "a@" * 30_000})
    assert refused["ok"] is False
    assert refused["error"]["code"] == "VALIDATION_ERROR" and "choice" in refused["error"]["message"]
    too_long = await client.sio.call("message", {"text": "x" * 2001})
    assert too_long["ok"] is False and "text" in too_long["error"]["message"]
    not_text = await client.sio.call("message", {"text": ["a"]})
    assert not_text["ok"] is False and "text" in not_text["error"]["message"]
    bad_id = await client.sio.call("message", {"text": "hi", "client_message_id": "c" * 101})
    assert bad_id["ok"] is False and "client_message_id" in bad_id["error"]["message"]

    assert (await health).status_code == 200
    # Nothing refused was stored: the conversation is still empty.
    assert (await client.sio.call("hello", {"last_seq": 0}))["messages"] == []
    await client.sio.disconnect()


async def test_hostile_messages_within_the_limit_are_answered(live_server, widget_key):
    client = Client()
    await client.connect(live_server.base_url, widget_key)
    await client.sio.call("hello", {"last_seq": 0})
    for number, text in enumerate(HOSTILE, start=1):
        ack = await client.sio.call("message", {"text": text, "client_message_id": f"h{number}"}, timeout=20)
        assert ack["ok"] is True, (text[:10], ack)
    await client.wait_for(2 * len(HOSTILE))
    assert all(m["text"] for m in client.messages if m["role"] == "assistant")
    await client.sio.disconnect()


async def test_a_choice_that_was_never_offered_is_read_as_words_not_obeyed(live_server, widget_key):
    client = Client()
    await client.connect(live_server.base_url, widget_key)
    await client.sio.call("hello", {"last_seq": 0})
    # A client that invents a quick reply (a cancel of someone's booking, a service) gets its
    # words read, as if typed: "hi" is a greeting, whatever the forged choice says.
    ack = await client.sio.call("message", {"text": "hi", "choice": "intent:cancel"})
    assert ack["ok"] is True
    await client.wait_for(2)
    reply = client.messages[-1]["text"]
    assert "what can i do for you" in reply.lower() and "reference" not in reply.lower()
    await client.sio.disconnect()


async def test_the_http_fallback_refuses_the_same_fields(client, tenant):
    key = await client.post(
        "/api/v1/api-keys", headers=tenant.auth, json={"kind": "publishable", "allowed_origins": [PAGE]}
    )
    headers = {"X-Widget-Key": key.json()["key"], "Origin": PAGE}
    token = (await client.post("/api/v1/chat/sessions", headers=headers, json={})).json()["token"]
    refused = await client.post(
        "/api/v1/chat/messages", headers=headers, json={"token": token, "text": "hi", "choice": "x" * 201}
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "choice" in refused.text


async def test_twilio_fields_meet_the_same_contract(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        # Longer than any real text: read up to the limit and answered, never a failing worker job.
        long_text = await phones.say(patient, practice, "I'd like a check-up tomorrow " + "x" * 5000)
        assert long_text
        with_nul = await phones.say(patient, practice, "what are your\x00 opening hours?")
        assert "9:00 AM" in with_nul
        params = {"MessageSid": "SM" + "a" * 100, "From": patient, "To": practice, "Body": "hi"}
        refused = await phones.post("/twilio/sms", params)
        assert refused.status_code == 422 and "MessageSid" in refused.text


async def test_the_connection_and_hello_fields_meet_the_contract(live_server, widget_key):
    for auth, field in ((widget_key + "\x00", "key"), ("pk_" + "k" * 600, "key")):
        refused = Client()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(live_server.base_url, auth)
        assert field in str(refused.refusal)
    with_token = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await with_token.connect(live_server.base_url, widget_key, token="t\x00ken")
    assert "token" in str(with_token.refusal)

    client = Client()
    await client.connect(live_server.base_url, widget_key)
    for hello in ({"last_seq": 2**31}, {"last_seq": "\x00"}, {"last_seq": True}, {"last_seq": -1}):
        answer = await client.sio.call("hello", hello)
        assert answer["ok"] is False and answer["error"]["code"] == "VALIDATION_ERROR", (hello, answer)
        assert "last_seq" in answer["error"]["message"]
    # The same connection still works: nothing failed on the server's side.
    assert (await client.sio.call("hello", {"last_seq": 0}))["messages"] == []
    await client.sio.disconnect()
