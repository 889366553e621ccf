"""The API reference at /docs (Swagger UI) and /redoc (ReDoc), drawn from copies of their assets kept
in this repository (`api_reference_assets/`, pinned, from npm: `make vendor`), so the reference
works on a machine without internet and no third party learns who reads it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "api_reference_assets"
ASSETS_PATH = "/docs/assets"
# The browser itself keeps the pages to this server: ReDoc draws its vendor's logo from a CDN, which
# this policy refuses before any request leaves (the logo hides itself when it fails).
ONLY_THIS_SERVER = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def install(app: FastAPI) -> None:
    """Serve the reference; the app is made with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="api-reference-assets")
    title = f"{app.title} API reference"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )
        page.headers["Content-Security-Policy"] = ONLY_THIS_SERVER
        return page

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=title,
            redoc_js_url=f"{ASSETS_PATH}/redoc/redoc.standalone.js",
            redoc_favicon_url="/favicon.ico",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = ONLY_THIS_SERVER
        return page
