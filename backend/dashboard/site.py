"""The workspace mounted on the app: its pages, its static files (socket.io-client included, from
the vendored copy the widget uses too), and errors answered as pages rather than JSON."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import AppError, ValidationFailed
from backend.core.http_errors import error_response, validation_problems
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
    app.add_middleware(BlankFormFields)

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
        if _is_page(request):
            return templates.TemplateResponse(
                request, "problem.html", {"error": error}, status_code=error.status
            )
        return error_response(error)

    api_validation = app.exception_handlers[RequestValidationError]

    @app.exception_handler(RequestValidationError)
    async def _bad_link(request: Request, error: RequestValidationError) -> Response:
        # A page's address edited by hand or cut short (?open=abc, ?day=tomorrow): a page that
        # says which part is wrong, not the API's JSON.
        if not _is_page(request):
            return await api_validation(request, error)
        [first, *_] = validation_problems(error) or [{"field": "", "message": "invalid"}]
        problem = ValidationFailed(
            first["field"],
            f"this link is not complete or was changed: {first['field'] or 'it'} ({first['message']})",
        )
        return templates.TemplateResponse(request, "problem.html", {"error": problem}, status_code=422)


def _is_page(request: Request) -> bool:
    return request.url.path.startswith(PREFIX + "/") and request.method == "GET"


class BlankFormFields:
    """A form sent by GET puts every field in the address, the empty ones as `name=` ("Whole
    clinic", no date): on the workspace's pages an empty field is a field not given, as it is to
    the person who left it empty."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"")
        page = scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX + "/")
        if page and b"=&" in query + b"&":
            given = [(k, v) for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if v]
            scope = {**scope, "query_string": urlencode(given).encode("latin-1")}
        await self.app(scope, receive, send)
