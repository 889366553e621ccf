"""Signing in and out of the workspace, accepting an invitation, resetting a password.

The sign-in form is protected against login CSRF by a double-submit token (a cookie and a form
field that must match), since there is no session yet to tie it to. Failures are throttled per
account and address (`tenants.sign_in_guard`, in the database) and per IP address (a moving window
in Redis).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.deps import Db, Now, get_settings
from backend.core.errors import AppError
from backend.core.rate_limits import RateLimits
from backend.core.schemas import FormText
from backend.core.settings import Settings
from backend.dashboard.render import PREFIX, StaffPage, templates
from backend.tenants import sessions, sign_in_guard, staff
from backend.tenants.models import StaffUser

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FORM_COOKIE = "frontdesk_form"
Config = Annotated[Settings, Depends(get_settings)]


def _safe_next(value: str | None) -> str:
    # Only a path of this workspace: never an open redirect to another site.
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/schedule"


def _form(request: Request, template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request, template, {"form_token": token, **context}, status_code=status_code
    )
    response.set_cookie(
        FORM_COOKIE, token, httponly=True, samesite="strict", path=PREFIX, secure=_secure(request)
    )
    return response


def _secure(request: Request) -> bool:
    return request.app.state.settings.cookies_secure


def _form_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(FORM_COOKIE)
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def _signed_in_response(request: Request, token: str, next_path: str, settings: Settings) -> Response:
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=settings.staff_session_hours * 3600,
        path="/",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _form(request, "login.html", next=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    db: Db,
    now: Now,
    settings: Config,
    email: Annotated[FormText, Form(max_length=254)] = "",
    password: Annotated[FormText, Form(max_length=200)] = "",
    form_token: Annotated[FormText, Form(max_length=100)] = "",
    next: Annotated[FormText, Form(max_length=500)] = "",
) -> Response:
    def refuse(message: str, status_code: int) -> HTMLResponse:
        return _form(request, "login.html", status_code, next=_safe_next(next), email=email, error=message)

    if not _form_ok(request, form_token):
        return refuse("This form had expired; please sign in again.", 403)
    if not email or not password:
        return refuse("Enter your e-mail address and password.", 422)
    limits: RateLimits = request.app.state.rate_limits
    ip = request.client.host if request.client else "unknown"
    per_ip = f"{settings.login_failures_per_ip}/15 minutes"
    wait = await limits.exceeded(per_ip, "login-ip", ip)
    if wait is not None:
        return refuse(f"Too many failed sign-ins from here; try again in {int(wait // 60) + 1} minutes.", 429)

    async def work(session: AsyncSession) -> StaffUser | AppError:
        # A refusal is returned, not raised, so the failed attempt it counted is committed.
        try:
            user = await staff.authenticate(session, settings, email, password, ip, now)
        except (staff.LoginRefused, sign_in_guard.TooManyFailures) as refusal:
            return refusal
        return user

    outcome = await db.transaction(work)
    if isinstance(outcome, AppError):
        if isinstance(outcome, staff.LoginRefused):
            await limits.count(per_ip, "login-ip", ip)
        page = refuse(outcome.message[:1].upper() + outcome.message[1:] + ".", outcome.status)
        page.headers.update(outcome.headers)  # Retry-After when this address must wait
        return page
    user_agent = request.headers.get("user-agent", "")
    token = await db.transaction(
        lambda session: sessions.open_session(session, settings, outcome, user_agent, now)
    )
    return _signed_in_response(request, token, next, settings)


@router.post("/logout")
async def logout(
    request: Request, page: StaffPage, db: Db, now: Now, csrf_token: Annotated[FormText, Form()] = ""
) -> Response:
    token = request.cookies.get(sessions.COOKIE, "")
    if not sessions.csrf_ok(token, csrf_token):
        # Another site's form cannot sign anyone out: nothing ends, no cookie is cleared.
        return RedirectResponse(PREFIX + "/schedule", status_code=303)
    await db.transaction(lambda session: sessions.end(session, token, now))
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.post("/logout-everywhere")
async def logout_everywhere(
    request: Request, page: StaffPage, db: Db, now: Now, csrf_token: Annotated[FormText, Form()] = ""
) -> Response:
    token = request.cookies.get(sessions.COOKIE, "")
    if not sessions.csrf_ok(token, csrf_token):
        return RedirectResponse(PREFIX + "/schedule", status_code=303)
    staff_id = page.caller.staff_id
    assert staff_id is not None
    await db.transaction(lambda session: staff.end_sessions(session, staff_id, now))
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.get("/reset", response_class=HTMLResponse)
async def reset_request_page(request: Request) -> HTMLResponse:
    return _form(request, "reset_request.html")


@router.post("/reset", response_class=HTMLResponse)
async def reset_request(
    request: Request,
    db: Db,
    now: Now,
    settings: Config,
    email: Annotated[FormText, Form(max_length=254)] = "",
    form_token: Annotated[FormText, Form(max_length=100)] = "",
) -> HTMLResponse:
    if not _form_ok(request, form_token):
        return _form(request, "reset_request.html", 403, error="This form had expired; please try again.")
    limits: RateLimits = request.app.state.rate_limits
    ip = request.client.host if request.client else "unknown"
    if await limits.exceeded("10/hour", "reset-ip", ip) is None and email.strip():
        await limits.count("10/hour", "reset-ip", ip)
        await db.transaction(lambda session: staff.request_reset(session, settings, email, now))
    # The same answer whether or not the address has an account.
    return _form(request, "reset_request.html", sent=True)


async def _link_page(request: Request, db: Db, now: Now, purpose: str, token: str) -> HTMLResponse:
    holder = await db.transaction(lambda session: staff.link_holder(session, token, purpose, now))
    return _form(
        request,
        "set_password.html",
        200 if holder else 404,
        purpose=purpose,
        holder=holder,
        action=f"{PREFIX}/{purpose}/{quote(token)}",
    )


async def _redeem(
    request: Request,
    db: Db,
    now: Now,
    settings: Settings,
    purpose: str,
    token: str,
    password: str,
    form_token: str,
) -> Response:
    action = f"{PREFIX}/{purpose}/{quote(token)}"
    if not _form_ok(request, form_token):
        return _form(
            request, "set_password.html", 403, purpose=purpose, action=action, error="This form had expired."
        )

    async def work(session: AsyncSession) -> tuple[StaffUser, str]:
        user = await staff.redeem(session, token, purpose, password, now)
        return user, await sessions.open_session(
            session, settings, user, request.headers.get("user-agent", ""), now
        )

    try:
        _, session_token = await db.transaction(work)
    except AppError as problem:
        holder = await db.transaction(lambda session: staff.link_holder(session, token, purpose, now))
        return _form(
            request,
            "set_password.html",
            problem.status,
            purpose=purpose,
            action=action,
            holder=holder,
            error=problem.message,
        )
    return _signed_in_response(request, session_token, PREFIX + "/schedule", settings)


@router.get("/invite/{token}", response_class=HTMLResponse)
async def invite_page(token: str, request: Request, db: Db, now: Now) -> HTMLResponse:
    return await _link_page(request, db, now, "invite", token)


@router.post("/invite/{token}")
async def accept_invite(
    token: str,
    request: Request,
    db: Db,
    now: Now,
    settings: Config,
    password: Annotated[FormText, Form(max_length=200)] = "",
    form_token: Annotated[FormText, Form(max_length=100)] = "",
) -> Response:
    return await _redeem(request, db, now, settings, "invite", token, password, form_token)


@router.get("/reset/{token}", response_class=HTMLResponse)
async def reset_page(token: str, request: Request, db: Db, now: Now) -> HTMLResponse:
    return await _link_page(request, db, now, "reset", token)


@router.post("/reset/{token}")
async def reset_password(
    token: str,
    request: Request,
    db: Db,
    now: Now,
    settings: Config,
    password: Annotated[FormText, Form(max_length=200)] = "",
    form_token: Annotated[FormText, Form(max_length=100)] = "",
) -> Response:
    return await _redeem(request, db, now, settings, "reset", token, password, form_token)
