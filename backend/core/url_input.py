"""No NUL character (U+0000, written `%00`) in a request's path or query, for every route at once.

PostgreSQL text cannot hold one, so a NUL that reached a query was a 500; a JSON body is checked
by the models (`core.schemas.Input`) and a Twilio form by its contract (`channels.inbound`), and
this is the same rule for what the URL carries: a 422 naming the parameter, before any handler.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import envelope


def parameter_with_nul(path: str, query_string: bytes) -> str | None:
    """The name of the first query parameter whose name or value holds a NUL ("path" for the path)."""
    if "\x00" in path:
        return "path"
    if b"%00" not in query_string and b"\x00" not in query_string:
        return None
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        if b"\x00" in unquote_to_bytes(name) or b"\x00" in unquote_to_bytes(value):
            return unquote_to_bytes(name).replace(b"\x00", b"").decode("utf-8", "replace")[:100]
    return None


class RefuseNulInUrl:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        field = (
            parameter_with_nul(scope["path"], scope.get("query_string", b""))
            if scope["type"] == "http"
            else None
        )
        if field is None:
            await self.app(scope, receive, send)
            return
        message = f"{field}: contains a NUL character (U+0000)"
        response = JSONResponse(
            envelope("VALIDATION_ERROR", message, {"errors": [{"field": field, "message": message}]}),
            status_code=422,
        )
        await response(scope, receive, send)
