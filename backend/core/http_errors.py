"""Every error leaves the server in one envelope: {"error": {"code", "message", "details", "retryable"}}.

A bug is a 500 in that envelope too, answered by `UnexpectedErrors` rather than by Starlette's
last-resort handler: that one re-raises after answering, and uvicorn then closes the connection,
so one bad request cost a keep-alive client its connection (and a pipelined request its answer).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
            {
                "field": _field(tuple(item.get("loc", ()))),
                "message": str(item.get("msg", "invalid")).removeprefix("Value error, "),
            }
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
        # Only what fails outside UnexpectedErrors (the outermost middlewares) gets here.
        return unexpected_error(request)


def unexpected_error(request: Request) -> JSONResponse:
    correlation_id = request.scope.get("state", {}).get("correlation_id")
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
