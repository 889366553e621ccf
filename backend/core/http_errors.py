"""Every error leaves the server in one envelope: {"error": {"code", "message", "details", "retryable"}}.

A bug is a 500 in that envelope too, answered by `UnexpectedErrors` rather than by Starlette's
last-resort handler: that one re-raises after answering, and uvicorn then closes the connection,
so one bad request cost a keep-alive client its connection (and a pipelined request its answer).
A database outage is a 503 with Retry-After and one log line per request, not a traceback.
"""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core import metrics
from backend.core.db import connection_failure, unavailable
from backend.core.errors import AppError, DatabaseUnavailable, envelope

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


def validation_problems(error: RequestValidationError) -> list[dict[str, str]]:
    """Each field the request got wrong, by its name in the request, with what was wrong."""
    return [
        {
            "field": _field(tuple(item.get("loc", ()))),
            "message": str(item.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for item in error.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, error: AppError) -> JSONResponse:
        if isinstance(error, DatabaseUnavailable):
            metrics.DATABASE_UNAVAILABLE.labels(error.code).inc()
            cause = error.__cause__
            log.warning(
                "%s %s: %s (%s)",
                request.method,
                request.url.path,
                error.code,
                f"{type(cause).__name__}: {cause}"[:200] if cause else error.message,
            )
        return error_response(error)

    async def _database_error(request: Request, error: Exception) -> JSONResponse:
        """A database error that escaped `Database.transaction` (a direct use of the engine)."""
        if connection_failure(error):
            return await _app_error(request, unavailable(error))
        return unexpected_error(request, error)

    for database_error in (DBAPIError, asyncpg.PostgresError):
        app.add_exception_handler(database_error, _database_error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = validation_problems(error)
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
        # Only what fails outside UnexpectedErrors (the outermost middlewares) gets here.
        return unexpected_error(request, error)


def unexpected_error(request: Request, error: BaseException | None = None) -> JSONResponse:
    """The 500 envelope for `error` (by default the exception being handled), logged with its trace."""
    correlation_id = request.scope.get("state", {}).get("correlation_id")
    log.error("unhandled error (correlation id %s)", correlation_id, exc_info=error or True)
    return JSONResponse(
        envelope(
            "INTERNAL_ERROR",
            # It may have failed after its change was committed: never claim otherwise.
            "unexpected server error. If you retry, send the same Idempotency-Key so that a change "
            "already made is not made twice; quote the correlation id when reporting it.",
            {"correlation_id": correlation_id},
            retryable=True,
        ),
        status_code=500,
    )


class UnexpectedErrors:
    """Answers an exception nothing else handled with the 500 envelope, and does not re-raise it:
    the server keeps the connection open for the client's next request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            if started:  # half an answer is out: only closing the connection can end it
                raise
            await unexpected_error(Request(scope))(scope, receive, send)
