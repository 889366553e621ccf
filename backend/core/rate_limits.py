"""Rate limits counted in Redis with the `limits` library (moving windows), shared by every process.

If Redis cannot be reached within `REDIS_TIMEOUT_SECONDS` (stopped, or frozen so that connections
hang), a limit lets the request through, and Redis is left alone for a moment before it is tried
again (core/redis_clients.py): an outage costs a few requests the timeout and is logged once, as
it starts and as it ends. The limits protect against floods, while correctness never depends on
them (a sign-in is still refused for a wrong password, and an account still locks in PostgreSQL).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, WindowStats, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from backend.core.errors import RateLimited
from backend.core.redis_clients import RedisGuard, timeouts


def storage_uri(redis_url: str) -> str:
    """The `limits` name for a Redis URL: redis://, rediss:// or unix:// (the embedded server)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url[len("unix://") :]
    return "async+" + redis_url


class RateLimits:
    def __init__(self, redis_url: str | None, timeout: float) -> None:
        # Without Redis (a single process in a test) the counts live in this process. Through
        # redis-py (the client the rest of the app uses), with its connect and read timeouts.
        if redis_url:
            uri = storage_uri(redis_url)
            storage = storage_from_string(uri, implementation="redispy", **timeouts(timeout))
        else:
            storage = storage_from_string("async+memory://")
        self.limiter = MovingWindowRateLimiter(storage)
        self.guard = RedisGuard("rate_limits", "rate limits (Redis): requests go through unchecked")

    async def exceeded(self, limit: str | RateLimitItem, *key: str) -> float | None:
        """Seconds until `key` may go again if it is over `limit`, else None (nothing counted)."""
        item = parse(limit) if isinstance(limit, str) else limit

        async def check() -> WindowStats | None:
            if await self.limiter.test(item, *key):
                return None
            return await self.limiter.get_window_stats(item, *key)

        stats = await self.guard.call(check, None)
        return None if stats is None else max(1.0, stats.reset_time - time.time())

    async def count(self, limit: str | RateLimitItem, *key: str) -> None:
        """Count one against `key` (a failed sign-in, say)."""
        item = parse(limit) if isinstance(limit, str) else limit
        await self.guard.call(lambda: self.limiter.hit(item, *key), True)

    async def first_in(self, limit: str | RateLimitItem, *key: str) -> bool:
        """Count one against `key`: True while within `limit` ("1/hour": the first of the hour),
        False past it or when Redis cannot say."""
        item = parse(limit) if isinstance(limit, str) else limit
        return await self.guard.call(lambda: self.limiter.hit(item, *key), False)

    async def take(self, limit: str | RateLimitItem, *key: str, refusal: str = "too many requests") -> None:
        """Count this request against `limit` for `key`; RateLimited (429, with the headers a client
        needs to back off, and `refusal` as the reason) when the window is full."""
        item = parse(limit) if isinstance(limit, str) else limit

        async def hit() -> WindowStats | None:
            if await self.limiter.hit(item, *key):
                return None
            return await self.limiter.get_window_stats(item, *key)

        stats = await self.guard.call(hit, None)
        if stats is None:
            return
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"{refusal}: at most {item}; retry in {wait} s",
            details={"limit": str(item), "retry_after_seconds": wait},
            headers={
                "Retry-After": str(wait),
                "RateLimit-Limit": str(item.amount),
                "RateLimit-Remaining": str(stats.remaining),
                "RateLimit-Reset": str(wait),
            },
        )
