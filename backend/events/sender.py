"""One webhook request: signed per Standard Webhooks, sent through a guarded connection, answered
with what the delivery log shows (status, a truncated body, latency) or why it failed.

Signatures come from the `standardwebhooks` library: `webhook-id` (the same for every attempt and
replay of one event, so receivers deduplicate on it), `webhook-timestamp`, and `webhook-signature`
with one `v1,` signature per live secret: during a rotation, the new one and the old one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend
from standardwebhooks import Webhook

from backend.core.settings import Settings
from backend.events import targets

log = logging.getLogger("frontdesk.webhooks")

USER_AGENT = "Frontdesk-Webhooks/1"
# The log keeps this much of what the receiver answered, and no more is read from the socket.
BODY_KEPT = 1000
BODY_READ = 4096


@dataclass(frozen=True)
class Request:
    url: str
    message_id: str
    body: str
    secrets: tuple[str, ...]  # whsec_…, the current first


@dataclass(frozen=True)
class Answer:
    status: int | None = None
    body: str | None = None
    latency_ms: int = 0
    error: str | None = None
    # Retrying cannot help (the payload is over the limit): the delivery fails at once.
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature_headers(request: Request, at: datetime) -> dict[str, str]:
    signatures = " ".join(
        Webhook(secret).sign(request.message_id, at, request.body) for secret in request.secrets
    )
    return {
        "webhook-id": request.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections only to addresses the SSRF guard accepts, to the very address it checked."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await targets.resolve(host, port, allow_private=self.allow_private)
        return await self.inner.connect_tcp(str(address), port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise targets.TargetRefused("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, settings: Settings, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to pass the network backend; this one is the same
        # pool with ours (the connection limits are the sender's concurrency).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=settings.webhook_concurrency,
            max_keepalive_connections=settings.webhook_concurrency,
            keepalive_expiry=30,
            network_backend=GuardedBackend(settings.webhooks_reach_private_networks),
        )


class WebhookSender:
    def __init__(self, settings: Settings, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(settings, ssl_context),
            follow_redirects=False,
            timeout=httpx.Timeout(settings.webhook_timeout_seconds),
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
        )

    async def send(self, request: Request) -> Answer:
        size = len(request.body.encode())
        if size > self.settings.webhook_max_payload_bytes:
            return Answer(
                error=f"payload of {size} bytes is over the {self.settings.webhook_max_payload_bytes} limit",
                permanent=True,
            )
        # The wall clock, never an injected one: receivers check the timestamp against theirs.
        headers = signature_headers(request, datetime.now(UTC))
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.webhook_timeout_seconds):
                status, body = await self._post(request, headers)
        except targets.TargetRefused as refused:
            return Answer(error=str(refused), latency_ms=_since(started))
        except TimeoutError:
            return Answer(
                error=f"no answer within {self.settings.webhook_timeout_seconds:g} s",
                latency_ms=_since(started),
            )
        except httpx.HTTPError as error:
            return Answer(error=f"{type(error).__name__}: {error}"[:500], latency_ms=_since(started))
        latency = _since(started)
        if 300 <= status < 400:
            return Answer(status, body, latency, error="redirects are not followed; register the final URL")
        if not 200 <= status < 300:
            return Answer(status, body, latency, error=f"HTTP {status}")
        return Answer(status, body, latency)

    async def _post(self, request: Request, headers: dict[str, str]) -> tuple[int, str]:
        async with self.client.stream("POST", request.url, content=request.body, headers=headers) as response:
            kept = bytearray()
            async for chunk in response.aiter_bytes():
                kept += chunk
                if len(kept) >= BODY_READ:
                    break
            return response.status_code, kept.decode("utf-8", "replace")[:BODY_KEPT]

    async def close(self) -> None:
        await self.client.aclose()


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
