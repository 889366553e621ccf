"""A clinic's webhook receiver, as an integrator would write one: every request verified with the
official `standardwebhooks` library (tampered or stale requests are rejected with 401), and
switches to make it misbehave: down, slow, accepting and then failing, redirecting.

`python -m tests.fakes.webhook_receiver PORT` runs one on its own (the delivery benchmark does);
there it counts what arrived and does not verify, so the receiver is not what gets measured.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook, WebhookVerificationError

from tests.fakes.serving import free_port, serving


@dataclass
class Received:
    message_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes
    at: float


@dataclass
class Receiver:
    base_url: str
    # Secrets this receiver verifies with (any one matching is enough); empty: no verification.
    secrets: list[str] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    requests: int = 0
    # Answer 503 to everything (the receiver's host is down behind its load balancer).
    down: bool = False
    # Process this many requests, then answer 500 anyway (a crash after the commit): retried.
    fail_after_accepting: int = 0
    delay: float = 0.0
    # Up to this much more, at random: answers then come back in another order than requests left.
    jitter: float = 0.0
    redirect_to: str | None = None

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks"

    def ids(self) -> list[str]:
        return [r.message_id for r in self.accepted]

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.accepted if r.body.get("type") == event_type]


def verify(secrets: list[str], raw: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """What a receiver does first: raises WebhookVerificationError unless a secret verifies."""
    failure: Exception = WebhookVerificationError("no secret configured")
    for secret in secrets:
        try:
            return Webhook(secret).verify(raw, headers)
        except WebhookVerificationError as error:
            failure = error
    raise failure


def create_app(receiver: Receiver) -> FastAPI:
    app = FastAPI()

    @app.post("/hooks")
    async def hook(request: Request) -> Response:
        receiver.requests += 1
        if receiver.delay or receiver.jitter:
            await asyncio.sleep(receiver.delay + random.uniform(0, receiver.jitter))
        if receiver.down:
            return Response(status_code=503)
        if receiver.redirect_to is not None:
            return Response(status_code=307, headers={"location": receiver.redirect_to})
        raw = await request.body()
        headers = dict(request.headers)
        if receiver.secrets:
            try:
                body = verify(receiver.secrets, raw, headers)
            except WebhookVerificationError as error:
                receiver.rejected.append(str(error))
                return Response(status_code=401)
        else:
            body = {}
        receiver.accepted.append(Received(headers.get("webhook-id", ""), body, headers, raw, time.time()))
        if receiver.fail_after_accepting > 0:
            receiver.fail_after_accepting -= 1
            return Response(status_code=500)
        return Response(status_code=204)

    @app.get("/_received")
    async def received() -> list[dict[str, Any]]:
        return [{"id": r.message_id, "at": r.at} for r in receiver.accepted]

    return app


@asynccontextmanager
async def running_receiver(secrets: list[str] | None = None) -> AsyncIterator[Receiver]:
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}", secrets=list(secrets or []))
    async with serving(create_app(receiver), port):
        yield receiver


if __name__ == "__main__":
    uvicorn.run(create_app(Receiver("")), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
