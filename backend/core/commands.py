"""Running a POST command: one transaction, and Idempotency-Key semantics around it.

Same key + same body replays the stored response; same key + another body -> 422; same key while
the first request still runs -> 409. Errors the client cannot fix by retrying are stored and
replayed too; retryable ones release the key so the retry does the work.
"""

from __future__ import annotations

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
from backend.core.db import Database, Isolation
from backend.core.deps import current_time
from backend.core.errors import AppError, ValidationFailed, envelope
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
    policy = idempotency.KeyPolicy(
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        lock_timeout=timedelta(seconds=settings.idempotency_lock_seconds),
    )
    request_hash = await _request_hash(request)
    stored = await db.transaction(
        lambda session: idempotency.claim(session, scope, key, request_hash, current_time(), policy)
    )
    if stored is not None:
        return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})

    async def work_and_record(session: AsyncSession) -> dict:
        body = (await work(session)).model_dump(mode="json")
        await idempotency.complete(session, scope, key, status_code, body)
        return body

    try:
        body = await db.transaction(work_and_record, isolation=isolation, gate=gate)
    except AppError as error:
        if error.retryable:
            await db.transaction(lambda session: idempotency.release(session, scope, key))
        else:
            failure = envelope(error.code, error.message, error.details, error.retryable)
            status = error.status
            await db.transaction(lambda session: idempotency.complete(session, scope, key, status, failure))
        raise
    except Exception:
        await db.transaction(lambda session: idempotency.release(session, scope, key))
        raise
    return JSONResponse(body, status_code=status_code)


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
