"""Running a POST command: one transaction, and Idempotency-Key semantics around it.

Same key + same body replays the stored response; same key + another body -> 422; same key while
the first request still runs -> 409 (its process holds the key's lock in its database session, so
a request whose process died holds nothing). Errors the client cannot fix by retrying are stored
and replayed too; after a retryable one nothing is stored, so the retry does the work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import idempotency
from backend.core.db import Database, Isolation, LockHeld
from backend.core.deps import current_time
from backend.core.errors import (
    AppError,
    DatabaseUnavailable,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    ValidationFailed,
    envelope,
)
from backend.core.settings import Settings

IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")

Work = Callable[[AsyncSession], Awaitable[BaseModel]]


async def run_command(
    request: Request,
    scope: str,
    work: Work,
    *,
    status_code: int,
    isolation: Isolation = "READ COMMITTED",
    gate: int | None = None,
) -> JSONResponse:
    db: Database = request.app.state.db
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        result = await db.transaction(work, isolation=isolation, gate=gate)
        return JSONResponse(result.model_dump(mode="json"), status_code=status_code)

    if not _KEY_PATTERN.fullmatch(key):
        raise ValidationFailed(IDEMPOTENCY_HEADER, "use 1 to 255 visible ASCII characters, e.g. a UUID")
    settings: Settings = request.app.state.settings
    ttl = timedelta(hours=settings.idempotency_ttl_hours)
    request_hash = await _request_hash(request)
    now = current_time()

    async def replay_or_work(session: AsyncSession) -> tuple[idempotency.StoredResponse, bool]:
        stored = await idempotency.find(session, scope, key, request_hash, now)
        if stored is not None:
            return stored, True
        answer = idempotency.StoredResponse(status_code, (await work(session)).model_dump(mode="json"))
        await idempotency.store(session, scope, key, request_hash, answer, now, ttl)
        return answer, False

    lock = idempotency.lock_key(scope, key)
    try:
        answer, replayed = await db.transaction(
            replay_or_work, isolation=isolation, gate=gate, exclusive=lock
        )
    except LockHeld:
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still being processed; retry shortly",
            details={"idempotency_key": key},
        ) from None
    except IdempotencyKeyReused:
        raise
    except AppError as error:
        if not error.retryable:  # the key's answer too: a retry gets the same refusal
            failure = idempotency.StoredResponse(
                error.status, envelope(error.code, error.message, error.details, error.retryable)
            )
            # Best effort: unstored, a retry runs again and is refused again.
            with contextlib.suppress(LockHeld, DatabaseUnavailable):
                await db.transaction(
                    lambda session: idempotency.store(session, scope, key, request_hash, failure, now, ttl),
                    exclusive=lock,
                )
        raise
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


async def _request_hash(request: Request) -> str:
    raw = await request.body()
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = raw
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), canonical):
        digest.update(part + b"\0")
    return digest.hexdigest()
