"""The embeddable widget's script, and the demo clinic page `make run` shows it on."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from backend.core.errors import NotFound
from backend.core.pages import pages

WIDGET_SCRIPT = Path(__file__).resolve().parents[2] / "widget" / "widget.js"

router = APIRouter(tags=["widget"])


@router.get("/widget.js", include_in_schema=False)
async def widget_script() -> FileResponse:
    return FileResponse(
        WIDGET_SCRIPT,
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
