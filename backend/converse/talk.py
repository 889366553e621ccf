"""A scripted patient's side of the line, as a real patient reaches the clinic: the web chat's HTTP
API (what the widget falls back to without WebSocket), or texts as signed Twilio webhooks with the
answers read back from the clinic's outbox (`GET /api/v1/notifications`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from twilio.request_validator import RequestValidator

from backend.converse.clinic import Clinic

# A reply that has not come by then counts as none.
REPLY_SECONDS = 20.0
_POLL_SECONDS = 0.2
# The kinds of text that answer a patient's text (the receptionist's reply, or a keyword's answer).
ANSWER_KINDS = {"reply", "help", "opt_out_confirmation", "opt_in_confirmation", "handoff_link"}


@dataclass(frozen=True)
class Heard:
    """One answer of the receptionist: its text, and the quick replies offered (None over SMS)."""

    text: str
    chips: tuple[str, ...] | None = None


class ChatFailed(Exception):
    """The line broke: an error status, or no answer in time. The script stops there."""


class Talker(Protocol):
    async def say(self, text: str) -> Heard: ...


def _refusal(response: httpx.Response) -> ChatFailed:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    return ChatFailed(f"the clinic answered {response.status_code}: {message}")


class WebTalker:
    """A browser without WebSocket: `POST /api/v1/chat/sessions`, then `/api/v1/chat/messages`."""

    def __init__(self, clinic: Clinic) -> None:
        self.http = clinic.http
        self.headers = {"X-Widget-Key": clinic.widget_key, "Origin": clinic.origin}
        self.token: str | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.http.post(path, headers=self.headers, json=body, timeout=REPLY_SECONDS)
        except httpx.TimeoutException as error:
            raise ChatFailed(f"no reply within {REPLY_SECONDS:.0f} s") from error
        if response.status_code != 200:
            raise _refusal(response)
        return response.json()

    async def say(self, text: str) -> Heard:
        if self.token is None:
            self.token = (await self._post("/api/v1/chat/sessions", {}))["token"]
        sent = await self._post("/api/v1/chat/messages", {"token": self.token, "text": text})
        replies = [m for m in sent["messages"] if m["role"] == "assistant"]
        chips = tuple(q["label"] for m in replies[-1:] for q in m["quick_replies"])
        return Heard("\n".join(m["text"] for m in replies), chips)


class SmsTalker:
    """The patient's phone texting the clinic's number: Twilio's signed webhook, then every text the
    clinic queues for that phone until the answer has come (a worker must be running)."""

    def __init__(self, clinic: Clinic, phone: str, auth_token: str | None, public_url: str) -> None:
        if clinic.number is None:
            raise ChatFailed("the clinic has no phone number to text")
        self.clinic, self.phone, self.number = clinic, phone, clinic.number
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.webhook_url = public_url.rstrip("/") + "/twilio/sms"
        self.seen: set[str] | None = None

    async def _texts_to_patient(self) -> list[dict[str, Any]]:
        page = await self.clinic.call("GET", "/api/v1/notifications", 200, params={"limit": 100})
        return [n for n in reversed(page["items"]) if n["channel"] == "sms" and n["recipient"] == self.phone]

    async def say(self, text: str) -> Heard:
        if self.seen is None:
            self.seen = {n["id"] for n in await self._texts_to_patient()}
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "From": self.phone,
            "To": self.number,
            "Body": text,
            "NumMedia": "0",
        }
        headers = {}
        if self.validator is not None:
            headers["X-Twilio-Signature"] = self.validator.compute_signature(self.webhook_url, params)
        response = await self.clinic.http.post(
            "/twilio/sms", data=params, headers=headers, timeout=REPLY_SECONDS
        )
        if response.status_code == 403 and self.validator is None:
            raise ChatFailed("the server checks Twilio's signature: give --twilio-auth-token")
        if response.status_code != 200:
            raise _refusal(response)
        return Heard(await self._answer())

    async def _answer(self) -> str:
        """The new texts, once the answer to this one has come (not only a text the change it made
        sends, such as a cancellation notice, which may go out first) and no other follows within a
        poll."""
        assert self.seen is not None
        deadline = time.monotonic() + REPLY_SECONDS
        answer: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            await asyncio.sleep(_POLL_SECONDS)
            new = [n for n in await self._texts_to_patient() if n["id"] not in self.seen]
            answered = any(n.get("kind") in ANSWER_KINDS for n in new)
            if answered and len(new) == len(answer):
                break
            answer = new
        if not answer:
            raise ChatFailed(f"no text came back within {REPLY_SECONDS:.0f} s (is a worker running?)")
        self.seen |= {n["id"] for n in answer}
        return "\n".join(n["body"] for n in answer)
