"""One webhook request: signed per Standard Webhooks, sent through a guarded connection, answered
with what the delivery log shows (status, a truncated body, latency) or why it failed.

Sent with aiohttp: on this machine it delivers about twenty times what httpx does at a hundred
concurrent connections (bench/event_delivery.py measured both), and its resolver hook is where the
SSRF guard belongs.

Signatures come from the `standardwebhooks` library: `webhook-id` (the same for every attempt and
replay of one event, so receivers deduplicate on it), `webhook-timestamp`, and `webhook-signature`
with one `v1,` signature per live secret: during a rotation, the new one and the old one.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from standardwebhooks import Webhook

from backend.core.network_problems import plain_reason
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


class GuardedResolver(AbstractResolver):
    """Resolves a webhook's host and refuses it unless every address is one the guard accepts.
    aiohttp connects to the addresses returned here, and nowhere else."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        if not self.allow_private:
            for result in found:
                targets.check_address(host, result["host"])
        return found

    async def close(self) -> None:
        await self.inner.close()


class WebhookSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop, as aiohttp wants.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                # Per endpoint, the claim already keeps to WEBHOOK_ENDPOINT_CONCURRENCY; several
                # endpoints of one host must not share that.
                limit=self.settings.webhook_concurrency,
                resolver=GuardedResolver(self.settings.webhooks_reach_private_networks),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds),
                headers={"user-agent": USER_AGENT, "content-type": "application/json"},
                trust_env=False,  # no proxy from the environment: the guard must see the real target
            )
        return self._session

    async def send(self, request: Request) -> Answer:
        size = len(request.body.encode())
        limit = self.settings.webhook_max_payload_bytes
        if size > limit:
            return Answer(error=f"payload of {size} bytes is over the {limit} limit", permanent=True)
        # The wall clock, never an injected one: receivers check the timestamp against theirs.
        headers = signature_headers(request, datetime.now(UTC))
        started = time.perf_counter()
        try:
            if not self.settings.webhooks_reach_private_networks:
                # A literal address is never resolved, so aiohttp would not ask the resolver.
                targets.check_literal(request.url)
            status, body = await self._post(request, headers)
        except targets.TargetRefused as refused:
            return Answer(error=str(refused), latency_ms=_since(started))
        except TimeoutError:
            timeout = self.settings.webhook_timeout_seconds
            return Answer(error=f"no answer within {timeout:g} s", latency_ms=_since(started))
        except (aiohttp.ClientError, ValueError) as error:
            return Answer(error=plain_reason(error, "the receiver"), latency_ms=_since(started))
        latency = _since(started)
        if 300 <= status < 400:
            return Answer(status, body, latency, error="redirects are not followed; register the final URL")
        if not 200 <= status < 300:
            return Answer(status, body, latency, error=f"HTTP {status}")
        return Answer(status, body, latency)

    async def _post(self, request: Request, headers: dict[str, str]) -> tuple[int, str]:
        async with self._client().post(
            request.url, data=request.body.encode(), headers=headers, allow_redirects=False
        ) as response:
            kept = await response.content.read(BODY_READ)
            return response.status, kept.decode("utf-8", "replace")[:BODY_KEPT]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
