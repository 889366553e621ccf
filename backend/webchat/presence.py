"""Who of a clinic's staff has the workspace open right now, for any process to ask.

Each live `/staff` connection is a member of a Redis sorted set per clinic, scored with the time it
expires. The process holding the connection adds it on connect, renews it every `RENEW_SECONDS`
and removes it on disconnect; a process that dies takes its connections with it within
`PRESENCE_SECONDS`. So an API process or the worker answering a text can tell a patient truthfully
whether anyone is watching. Redis holds nothing that matters for correctness here: when it cannot
be reached, presence is unknown (None) and the patient is told only what is certain.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PRESENCE_SECONDS = 60
RENEW_SECONDS = 20
REDIS_TIMEOUT_SECONDS = 0.5


def _key(tenant_id: uuid.UUID) -> str:
    return f"frontdesk:staff-online:{tenant_id}"


class StaffPresence:
    def __init__(self, redis_url: str | None) -> None:
        self.redis = (
            aioredis.from_url(
                redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
            )
            if redis_url
            else None
        )
        # This process's connections (socket id -> clinic): the ones it renews.
        self.here: dict[str, uuid.UUID] = {}

    async def arrived(self, sid: str, tenant_id: uuid.UUID) -> None:
        self.here[sid] = tenant_id
        await self._mark({sid: tenant_id})

    async def left(self, sid: str) -> None:
        tenant_id = self.here.pop(sid, None)
        if tenant_id is None or self.redis is None:
            return
        try:
            await self.redis.zrem(_key(tenant_id), sid)
        except (RedisError, OSError):
            log.warning("staff presence: could not remove a connection; it expires by itself")

    async def online(self, tenant_id: uuid.UUID) -> bool | None:
        if self.redis is None:  # one process, no Redis: its own connections are all there are
            return tenant_id in self.here.values()
        try:
            return int(await self.redis.zcount(_key(tenant_id), time.time(), "+inf")) > 0
        except (RedisError, OSError):
            log.warning("staff presence unknown: Redis unavailable")
            return None

    async def keep_renewing(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            await self._mark(dict(self.here))

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def _mark(self, connections: dict[str, uuid.UUID]) -> None:
        if self.redis is None or not connections:
            return
        now = time.time()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for sid, tenant_id in connections.items():
                    key = _key(tenant_id)
                    pipe.zadd(key, {sid: now + PRESENCE_SECONDS})
                    pipe.zremrangebyscore(key, "-inf", now)  # connections of processes that died
                    pipe.expire(key, PRESENCE_SECONDS * 2)
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("staff presence: could not renew %d connection(s)", len(connections))
