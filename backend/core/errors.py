"""Errors a caller can act on. Each becomes the envelope
`{"error": {"code", "message", "details", "retryable"}}` at the HTTP boundary (backend.api.errors).
"""

from __future__ import annotations

import math
from typing import Any


class AppError(Exception):
    status = 400
    code = "BAD_REQUEST"
    retryable = False

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        # Response headers that go with the error (Retry-After on a 429).
        self.headers = headers or {}


class ValidationFailed(AppError):
    status = 422
    code = "VALIDATION_ERROR"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details={"errors": [{"field": field, "message": message}]})


class NotFound(AppError):
    status = 404
    code = "NOT_FOUND"


class Unauthorized(AppError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(AppError):
    status = 403
    code = "FORBIDDEN"


class Conflict(AppError):
    status = 409
    code = "CONFLICT"


class SlotTaken(Conflict):
    code = "SLOT_TAKEN"


class SlotUnavailable(AppError):
    """The requested time is outside bookable hours (closed, too soon, too far ahead)."""

    status = 422
    code = "SLOT_UNAVAILABLE"


class HoldExpired(AppError):
    status = 410
    code = "HOLD_EXPIRED"


class BusyRetry(AppError):
    status = 409
    code = "CONCURRENT_UPDATE"
    retryable = True


class RateLimited(AppError):
    status = 429
    code = "RATE_LIMITED"
    retryable = True

    @classmethod
    def retry_in(cls, message: str, seconds: float) -> RateLimited:
        """Refused for now: the client may try again in `seconds` (whole seconds, at least 1)."""
        wait = max(1, math.ceil(seconds))
        return cls(message, details={"retry_after_seconds": wait}, headers={"Retry-After": str(wait)})

    @property
    def retry_after(self) -> int | None:
        return self.details.get("retry_after_seconds")


class IdempotencyKeyReused(AppError):
    status = 422
    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyInProgress(AppError):
    status = 409
    code = "IDEMPOTENCY_IN_PROGRESS"
    retryable = True


class DatabaseUnavailable(AppError):
    """PostgreSQL could not be reached, or the connection broke before anything was committed."""

    status = 503
    code = "DATABASE_UNAVAILABLE"
    retryable = True


class OutcomeUnknown(DatabaseUnavailable):
    """The connection broke while the change was being committed: it may have been saved or not."""

    code = "OUTCOME_UNKNOWN"


def envelope(code: str, message: str, details: dict[str, Any] | None = None, retryable: bool = False) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}, "retryable": retryable}}
