"""The API's Redis clients, none of which can stall a request.

Every connect and read gives up after `REDIS_TIMEOUT_SECONDS`, and a failed call is not tried again
for a moment (`RedisGuard`): while Redis is away (stopped, or frozen so that connections hang),
the first requests each lose at most the timeout and the rest lose nothing. The outage is logged
once when it starts and once when it ends. Redis holds nothing the API needs to be correct: rate
limits let requests through (core/rate_limits.py), and live pushes to browsers are dropped (the
stored messages are what counts, and the widget catches up by sequence number).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
import socketio

from backend.core import metrics
from backend.core.outages import Outage
from backend.core.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
# After a failure, Redis is left alone this long before one call tries it again.
RETRY_AFTER_SECONDS = 1.0


def timeouts(timeout: float) -> dict[str, float]:
    """The redis-py options that bound a call: connecting, and waiting for each answer."""
    return {"socket_connect_timeout": timeout, "socket_timeout": timeout}


def client(settings: Settings) -> aioredis.Redis | None:
    """The app's own client (readiness)."""
    if not settings.redis_url:
        return None
    return aioredis.from_url(settings.redis_url, **timeouts(settings.redis_timeout_seconds))


class RedisGuard:
    """Calls to Redis that fail open: a failure answers `fallback`, and so does every call in the
    next `RETRY_AFTER_SECONDS`; then one call tries Redis again. While it fails, the gauge
    `frontdesk_redis_unavailable{client=…}` is 1."""

    def __init__(self, client: str, what: str) -> None:
        self.outage = Outage(log, what)
        self.unavailable = metrics.REDIS_UNAVAILABLE.labels(client)
        self.unavailable.set(0)
        self._idle_until = 0.0

    async def call(self, call: Callable[[], Awaitable[T]], fallback: T) -> T:
        if time.monotonic() < self._idle_until:
            return fallback
        try:
            result = await call()
        except Exception as error:  # refused, timed out, reset, or Redis's own error: all fail open
            self._idle_until = time.monotonic() + RETRY_AFTER_SECONDS
            self.outage.failed(error)
            self.unavailable.set(1)
            return fallback
        if self.outage.ongoing:
            self.outage.recovered()
            self.unavailable.set(0)
        return result


class RedisFanout(socketio.AsyncRedisManager):
    """Socket.IO's Redis manager (a message stored by one API process reaches browsers connected to
    another), publishing within the timeout through a `RedisGuard`. Its subscription listens on a
    client of its own with no read timeout: it waits for messages as long as there are none."""

    def __init__(self, settings: Settings) -> None:
        assert settings.redis_url is not None
        super().__init__(settings.redis_url, redis_options=timeouts(settings.redis_timeout_seconds))
        self.guard = RedisGuard("live", "pushing live updates through Redis")
        self._listener_options: dict[str, Any] = {"socket_connect_timeout": settings.redis_timeout_seconds}
        if not settings.redis_url.startswith("unix://"):  # keep-alive is TCP's; a Unix socket refuses it
            self._listener_options["socket_keepalive"] = True

    def _redis_connect(self) -> None:
        super()._redis_connect()
        listener = aioredis.Redis.from_url(self.redis_url, **self._listener_options)
        self.pubsub = listener.pubsub(ignore_subscribe_messages=True)

    async def _publish(self, data: Any) -> None:
        async def publish() -> None:
            if not self.connected:
                self._redis_connect()
            await self.redis.publish(self.channel, self.json.dumps(data))

        await self.guard.call(publish, None)
