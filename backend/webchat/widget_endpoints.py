"""The embeddable widget's script, and the demo clinic page `make run` shows it on."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from backend.core.errors import NotFound
from backend.core.pages import pages

WIDGET_DIR = Path(__file__).resolve().parents[2] / "widget"
WIDGET_SCRIPT = WIDGET_DIR / "widget.js"
SOCKET_IO_CLIENT = WIDGET_DIR / "vendor" / "socket.io-client" / "socket.io.min.js"

router = APIRouter(tags=["widget"])


@lru_cache(maxsize=1)
def widget_bundle() -> bytes:
    """One script for the host page: socket.io-client, then the widget, in a scope of their own, so
    the client neither reads nor sets the page's `io`, `module` or `define`."""
    return (
        "(function(){var module={exports:{}},exports=module.exports,define;\n"
        + SOCKET_IO_CLIENT.read_text()
        + "\nvar io=module.exports;\n"
        + WIDGET_SCRIPT.read_text()
        + "\n})();\n"
    ).encode()


@router.get("/widget.js", include_in_schema=False)
async def widget_script() -> Response:
    return Response(
        widget_bundle(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
async def demo_page(request: Request) -> HTMLResponse:
    """A sample clinic web site with the chat widget on it (the demo tenant's publishable key)."""
    key = request.app.state.demo_widget_key
    if not key:
        raise NotFound("the demo page needs the demo tenant: start the server with `frontdesk serve --demo`")
    return pages.TemplateResponse(request, "demo.html", {"widget_key": key})
