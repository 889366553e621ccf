"""Rate limits counted in Redis with the `limits` library (moving windows), shared by every process.

If Redis cannot be reached a limit lets the request through and logs it: the limits protect
against floods, while correctness never depends on them (a sign-in is still refused for a wrong
password, and an account still locks in PostgreSQL).
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from backend.core.errors import RateLimited

log = logging.getLogger(__name__)


def storage_uri(redis_url: str) -> str:
    """The `limits` name for a Redis URL: redis://, rediss:// or unix:// (the embedded server)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url[len("unix://") :]
    return "async+" + redis_url


class RateLimits:
    def __init__(self, redis_url: str | None) -> None:
        # Without Redis (a single process in a test) the counts live in this process.
        uri = storage_uri(redis_url) if redis_url else "async+memory://"
        self.limiter = MovingWindowRateLimiter(storage_from_string(uri))

    async def exceeded(self, limit: str | RateLimitItem, *key: str) -> float | None:
        """Seconds until `key` may go again if it is over `limit`, else None (nothing counted)."""
        item = parse(limit) if isinstance(limit, str) else limit
        try:
            if await self.limiter.test(item, *key):
                return None
            stats = await self.limiter.get_window_stats(item, *key)
        except Exception:  # Redis away: let it through (see the module's note)
            log.warning("rate limit %s not checked: Redis unavailable", item, exc_info=True)
            return None
        return max(1.0, stats.reset_time - time.time())

    async def count(self, limit: str | RateLimitItem, *key: str) -> None:
        """Count one against `key` (a failed sign-in, say)."""
        item = parse(limit) if isinstance(limit, str) else limit
        try:
            await self.limiter.hit(item, *key)
        except Exception:
            log.warning("rate limit %s not counted: Redis unavailable", item, exc_info=True)

    async def first_in(self, limit: str | RateLimitItem, *key: str) -> bool:
        """Count one against `key`: True while within `limit` ("1/hour": the first of the hour),
        False past it or when Redis cannot say."""
        item = parse(limit) if isinstance(limit, str) else limit
        try:
            return await self.limiter.hit(item, *key)
        except Exception:
            log.warning("rate limit %s not counted: Redis unavailable", item, exc_info=True)
            return False

    async def take(self, limit: str | RateLimitItem, *key: str, refusal: str = "too many requests") -> None:
        """Count this request against `limit` for `key`; RateLimited (429, with the headers a client
        needs to back off, and `refusal` as the reason) when the window is full."""
        item = parse(limit) if isinstance(limit, str) else limit
        try:
            allowed = await self.limiter.hit(item, *key)
            if allowed:
                return
            stats = await self.limiter.get_window_stats(item, *key)
        except Exception:
            log.warning("rate limit %s not checked: Redis unavailable", item, exc_info=True)
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
