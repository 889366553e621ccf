"""Idempotency keys: a retried POST replays the first answer instead of doing the work again.

A request with a key runs in one transaction that holds the key's advisory lock, taken without
waiting (`lock_key`: another request holding it is still running, 409), looks the key up (`find`:
its stored answer is replayed, another body under it is refused) and, when it is new, does the work
and stores the answer (`store`) before committing: a stored answer always matches committed work.
The lock belongs to the database session, not to a timer: when the process running a request
dies, PostgreSQL ends its session, the work rolls back, and the key is free for the retry at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import IdempotencyKeyReused
from backend.core.models import IdempotencyKey


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def lock_key(scope: str, key: str) -> int:
    """The advisory lock a request with this key holds while it runs (64 bits of a hash)."""
    digest = hashlib.sha256(f"idempotency\0{scope}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def find(
    session: AsyncSession, scope: str, key: str, request_hash: str, now: datetime
) -> StoredResponse | None:
    """The answer stored under `key`, if it is still kept; refused if it answered another request."""
    row = (
        await session.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.scope == scope, IdempotencyKey.key == key, IdempotencyKey.expires_at > now
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body",
            details={"idempotency_key": key},
        )
    return StoredResponse(row.response_status, row.response_body)


async def store(
    session: AsyncSession,
    scope: str,
    key: str,
    request_hash: str,
    answer: StoredResponse,
    now: datetime,
    ttl: timedelta,
) -> None:
    """Keep `answer` under `key` for `ttl`; an expired answer stored before is replaced."""
    values = {
        "request_hash": request_hash,
        "response_status": answer.status,
        "response_body": answer.body,
        "created_at": now,
        "expires_at": now + ttl,
    }
    await session.execute(
        insert(IdempotencyKey)
        .values(scope=scope, key=key, **values)
        .on_conflict_do_update(
            index_elements=[IdempotencyKey.scope, IdempotencyKey.key],
            set_=values,
            where=IdempotencyKey.expires_at <= now,
        )
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return result.rowcount or 0
