"""The chat's HTTP fallback: widget key + Origin, resume tokens, replayed resends, clear errors."""

from __future__ import annotations

import pytest

from tests.support.db import scalar

PAGE = "https://clinic.example"


@pytest.fixture
async def widget_key(client, tenant) -> str:
    response = await client.post(
        "/api/v1/api-keys", headers=tenant.auth, json={"kind": "publishable", "allowed_origins": [PAGE]}
    )
    assert response.status_code == 201
    return response.json()["key"]


def widget(key: str, origin: str = PAGE, token: str | None = None) -> dict[str, str]:
    headers = {"X-Widget-Key": key, "Origin": origin}
    if token:
        headers["X-Conversation-Token"] = token
    return headers


async def conversations_of(db, tenant) -> int:
    return await scalar(db, "SELECT count(*) FROM conversations WHERE tenant_id = :t", t=tenant.id)


async def test_a_conversation_over_http(client, widget_key, db, tenant):
    opened = await client.post("/api/v1/chat/sessions", headers=widget(widget_key), json={})
    assert opened.status_code == 200
    token = opened.json()["token"]
    assert token.startswith("cv_") and opened.json()["messages"] == []

    sent = await client.post(
        "/api/v1/chat/messages",
        headers=widget(widget_key),
        json={"token": token, "text": "what are your opening hours?", "client_message_id": "c1"},
    )
    assert sent.status_code == 200
    messages = sent.json()["messages"]
    assert [(m["seq"], m["role"]) for m in messages] == [(1, "patient"), (2, "assistant")]
    assert messages[0]["client_message_id"] == "c1" and "9:00 AM" in messages[1]["text"]

    resent = await client.post(
        "/api/v1/chat/messages",
        headers=widget(widget_key),
        json={"token": token, "text": "what are your opening hours?", "client_message_id": "c1"},
    )
    assert resent.json()["messages"] == messages

    later = await client.get("/api/v1/chat/messages?after=1", headers=widget(widget_key, token=token))
    assert [m["seq"] for m in later.json()["messages"]] == [2]
    resumed = await client.post("/api/v1/chat/sessions", headers=widget(widget_key), json={"token": token})
    assert resumed.json()["token"] == token and len(resumed.json()["messages"]) == 2
    assert await conversations_of(db, tenant) == 1


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({"X-Widget-Key": "pk_live_nope", "Origin": PAGE}, 403, "unknown or revoked widget key"),
        ({"Origin": PAGE}, 422, "X-Widget-Key: Field required"),
        (
            {"X-Widget-Key": "KEY", "Origin": "https://evil.example"},
            403,
            "origin https://evil.example is not allowed",
        ),
        ({"X-Widget-Key": "KEY"}, 422, "Origin: Field required"),
    ],
)
async def test_refusals_say_why_and_write_nothing(client, widget_key, db, tenant, headers, status, message):
    headers = {k: v.replace("KEY", widget_key) for k, v in headers.items()}
    response = await client.post("/api/v1/chat/sessions", headers=headers, json={})
    assert response.status_code == status
    assert message in response.json()["error"]["message"]
    assert await conversations_of(db, tenant) == 0


async def test_a_secret_key_is_refused_on_a_web_page(client, tenant, db):
    response = await client.post("/api/v1/chat/sessions", headers=widget(tenant.key), json={})
    assert response.status_code == 403
    assert "publishable key" in response.json()["error"]["message"]


async def test_bad_messages_are_rejected_and_unknown_tokens_create_nothing(client, widget_key, db, tenant):
    unknown = await client.post(
        "/api/v1/chat/messages", headers=widget(widget_key), json={"token": "cv_unknown", "text": "hi"}
    )
    assert unknown.status_code == 404 and "open a new session" in unknown.json()["error"]["message"]
    assert await conversations_of(db, tenant) == 0

    token = (await client.post("/api/v1/chat/sessions", headers=widget(widget_key), json={})).json()["token"]
    for body, field in (
        ({"token": token, "text": ""}, "text"),
        ({"token": token, "text": "x" * 2001}, "text"),
        ({"token": token, "text": "hi", "extra": 1}, "extra"),
    ):
        response = await client.post("/api/v1/chat/messages", headers=widget(widget_key), json=body)
        assert response.status_code == 422
        assert response.json()["error"]["details"]["errors"][0]["field"] == field
    count = await scalar(db, "SELECT count(*) FROM conversation_messages WHERE tenant_id = :t", t=tenant.id)
    assert count == 0


async def test_a_message_of_five_thousand_characters_gets_a_kind_clear_refusal(client, widget_key):
    token = (await client.post("/api/v1/chat/sessions", headers=widget(widget_key), json={})).json()["token"]
    response = await client.post(
        "/api/v1/chat/messages", headers=widget(widget_key), json={"token": token, "text": "word " * 1000}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["retryable"] is False
    said = error["details"]["errors"][0]["message"]
    assert "too long" in said and "2,000 characters" in said and "send it in parts" in said


async def test_the_fallback_endpoints_answer_cors_preflights(client):
    response = await client.options(
        "/api/v1/chat/messages",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-widget-key",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in {"*", PAGE}
    other = await client.options(
        "/api/v1/bookings", headers={"Origin": PAGE, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in other.headers
