"""Idempotency keys: a retried POST replays the first answer instead of doing the work again.

A key is claimed (`claim`) in its own short transaction, completed (`complete`) inside the same
transaction as the work it protects — so a stored response always matches committed work — and
released (`release`) when the work failed in a way the client may simply retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import IdempotencyInProgress, IdempotencyKeyReused
from backend.core.models import IdempotencyKey


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class KeyPolicy:
    ttl: timedelta
    # A claim older than this belongs to a request whose process died; a retry may take it over.
    lock_timeout: timedelta


async def claim(
    session: AsyncSession, scope: str, key: str, request_hash: str, now: datetime, policy: KeyPolicy
) -> StoredResponse | None:
    """Claim `key` for this request; return the stored response if the request already ran."""
    inserted = await session.execute(
        insert(IdempotencyKey)
        .values(
            scope=scope,
            key=key,
            request_hash=request_hash,
            status="in_progress",
            locked_at=now,
            expires_at=now + policy.ttl,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.scope, IdempotencyKey.key])
        .returning(IdempotencyKey.key)
    )
    if inserted.first() is not None:
        return None

    existing = (
        await session.execute(
            select(IdempotencyKey)
            .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
            .with_for_update()
        )
    ).scalar_one()
    if existing.expires_at <= now:
        _reclaim(existing, request_hash, now, policy)
        return None
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body",
            details={"idempotency_key": key},
        )
    if existing.status == "completed":
        assert existing.response_status is not None and existing.response_body is not None
        return StoredResponse(existing.response_status, existing.response_body)
    if existing.locked_at > now - policy.lock_timeout:
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still being processed; retry shortly",
            details={"idempotency_key": key},
        )
    _reclaim(existing, request_hash, now, policy)
    return None


def _reclaim(row: IdempotencyKey, request_hash: str, now: datetime, policy: KeyPolicy) -> None:
    row.request_hash = request_hash
    row.status = "in_progress"
    row.response_status = None
    row.response_body = None
    row.locked_at = now
    row.created_at = now
    row.expires_at = now + policy.ttl


async def complete(session: AsyncSession, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .values(status="completed", response_status=status, response_body=body)
    )


async def release(session: AsyncSession, scope: str, key: str) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.scope == scope, IdempotencyKey.key == key, IdempotencyKey.status == "in_progress"
        )
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return result.rowcount or 0
