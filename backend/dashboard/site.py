"""The workspace mounted on the app: its pages, its static files (socket.io-client included, from
the vendored copy the widget uses too), and errors answered as pages rather than JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from backend.core.errors import AppError
from backend.core.http_errors import error_response
from backend.dashboard import (
    account_pages,
    audit_pages,
    auth_pages,
    calendar_pages,
    import_pages,
    inbox_pages,
    message_pages,
    patient_pages,
    report_pages,
    schedule_pages,
    settings_pages,
)
from backend.dashboard.render import ENROLMENT_PATH, HERE, PREFIX, EnrolmentNeeded, SignInNeeded, templates
from backend.webchat.widget_endpoints import SOCKET_IO_CLIENT

PAGES = (
    auth_pages,
    report_pages,
    account_pages,
    schedule_pages,
    import_pages,
    inbox_pages,
    patient_pages,
    message_pages,
    calendar_pages,
    settings_pages,
    audit_pages,
)


def install(app: FastAPI) -> None:
    for module in PAGES:
        app.include_router(module.router)

    @app.get(PREFIX + "/static/socket.io.min.js", include_in_schema=False)
    async def socket_io_client() -> FileResponse:
        return FileResponse(
            SOCKET_IO_CLIENT, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"}
        )

    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="workspace-static")

    # Browsers ask every origin for /favicon.ico (the demo page, the API reference): the same icon.
    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(
            HERE / "static" / "favicon.svg",
            media_type="image/svg+xml",
            headers={"Cache-Control": "max-age=86400"},
        )

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, error: SignInNeeded) -> Response:
        return RedirectResponse(f"{PREFIX}/login?next={quote(error.next_path)}", status_code=303)

    @app.exception_handler(EnrolmentNeeded)
    async def _enrol(request: Request, error: EnrolmentNeeded) -> Response:
        return RedirectResponse(ENROLMENT_PATH, status_code=303)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, error: AppError) -> Response:
        # A page that names another clinic's patient answers like a missing one, as a page.
        if request.url.path.startswith(PREFIX + "/") and request.method == "GET":
            return templates.TemplateResponse(
                request, "problem.html", {"error": error}, status_code=error.status
            )
        return error_response(error)
