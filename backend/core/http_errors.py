"""Every error leaves the server in one envelope: {"error": {"code", "message", "details", "retryable"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from backend.core.errors import AppError, envelope

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(error: AppError) -> JSONResponse:
    return JSONResponse(
        envelope(error.code, error.message, error.details, error.retryable),
        status_code=error.status,
        headers=error.headers or None,
    )


def _field(location: tuple) -> str:
    # ("body", "customer", "phone") -> "customer.phone"; ("query", "from") -> "from"
    parts = (
        [str(part) for part in location[1:]] if location and location[0] in {"body", "query", "path"} else []
    )
    return ".".join(parts) or ".".join(str(part) for part in location)


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, error: AppError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": _field(tuple(item.get("loc", ()))), "message": item.get("msg", "invalid")}
            for item in error.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return JSONResponse(envelope("VALIDATION_ERROR", message, {"errors": problems}), status_code=422)

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, error: PoolTimeout) -> JSONResponse:
        message = "the server is busy; retry in a moment"
        return JSONResponse(
            envelope("SERVER_BUSY", message, retryable=True), status_code=503, headers={"Retry-After": "1"}
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, f"HTTP_{error.status_code}")
        message = error.detail if isinstance(error.detail, str) else code.lower().replace("_", " ")
        return JSONResponse(envelope(code, message), status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        correlation_id = getattr(request.state, "correlation_id", None)
        log.exception("unhandled error (correlation id %s)", correlation_id)
        return JSONResponse(
            envelope(
                "INTERNAL_ERROR",
                "unexpected server error; nothing was changed. Quote the correlation id when reporting it.",
                {"correlation_id": correlation_id},
                retryable=True,
            ),
            status_code=500,
        )
