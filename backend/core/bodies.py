"""A request body read with a size limit: refused with 413 as soon as it is known to be too big
(its Content-Length, or the bytes read so far), never read whole into memory first."""

from __future__ import annotations

from fastapi import Request

from backend.core.errors import AppError


class PayloadTooLarge(AppError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


async def read_limited(request: Request, limit: int) -> bytes:
    too_big = PayloadTooLarge(
        f"the body is larger than {limit:,} bytes; send it in several requests",
        details={"limit_bytes": limit},
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        parts.append(chunk)
    return b"".join(parts)
