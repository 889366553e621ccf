"""Signing in and out of the workspace, accepting an invitation, resetting a password.

The sign-in form is protected against login CSRF by a double-submit token (a cookie and a form
field that must match), since there is no session yet to tie it to. Failures are throttled per
account and address (`tenants.sign_in_guard`, in the database) and per IP address (a moving window
in Redis). An account with two-factor sign-in gets a second form after the right password: the
account it is for rides in a short-lived cookie sealed with the key ring, and the code is counted
like a password.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.crypto import KeyRingError
from backend.core.deps import Db, Now, get_settings
from backend.core.errors import AppError
from backend.core.rate_limits import RateLimits
from backend.core.schemas import FormText
from backend.core.settings import Settings
from backend.dashboard.render import PREFIX, StaffPage, templates
from backend.tenants import sessions, sign_in_guard, staff, two_factor
from backend.tenants.models import StaffUser

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FORM_COOKIE = "frontdesk_form"
# Which account's code the second sign-in form asks for, sealed; it lasts as long as the form may.
CHALLENGE_COOKIE = "frontdesk_second_factor"
CHALLENGE_SEALED_AS = "sign-in-second-factor"
CHALLENGE_LIFETIME = timedelta(minutes=5)
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
    if two_factor.enabled(outcome):
        return _ask_for_code(request, settings, outcome, next, now)
    return await _open(request, db, settings, outcome, next, now)


async def _open(
    request: Request, db: Db, settings: Settings, user: StaffUser, next_path: str, now: datetime
) -> Response:
    user_agent = request.headers.get("user-agent", "")
    token = await db.transaction(
        lambda session: sessions.open_session(session, settings, user, user_agent, now)
    )
    response = _signed_in_response(request, token, next_path, settings)
    response.delete_cookie(CHALLENGE_COOKIE, path=PREFIX)
    return response


def _ask_for_code(
    request: Request, settings: Settings, user: StaffUser, next_path: str, now: datetime, **context: object
) -> HTMLResponse:
    """The second form, for the account whose password was just right."""
    challenge = json.dumps(
        {"staff": str(user.id), "email": user.email, "until": (now + CHALLENGE_LIFETIME).isoformat()}
    )
    page = _form(request, "login_code.html", next=_safe_next(next_path), **context)
    page.set_cookie(
        CHALLENGE_COOKIE,
        settings.key_ring.seal(challenge, CHALLENGE_SEALED_AS),
        httponly=True,
        samesite="strict",
        path=PREFIX,
        secure=_secure(request),
        max_age=int(CHALLENGE_LIFETIME.total_seconds()),
    )
    return page


def _challenge(request: Request, settings: Settings, now: datetime) -> tuple[uuid.UUID, str] | None:
    """The account the second form is for, while its cookie is genuine and fresh."""
    sealed = request.cookies.get(CHALLENGE_COOKIE, "")
    try:
        challenge = json.loads(settings.key_ring.open(sealed, CHALLENGE_SEALED_AS))
        if datetime.fromisoformat(challenge["until"]) <= now:
            return None
        return uuid.UUID(challenge["staff"]), str(challenge["email"])
    except (KeyRingError, ValueError, KeyError, TypeError):
        return None


@router.post("/login/code", response_class=HTMLResponse)
async def login_code(
    request: Request,
    db: Db,
    now: Now,
    settings: Config,
    code: Annotated[FormText, Form(max_length=40)] = "",
    form_token: Annotated[FormText, Form(max_length=100)] = "",
    next: Annotated[FormText, Form(max_length=500)] = "",
) -> Response:
    """The second step: a code from the authenticator app or a recovery code."""
    challenge = _challenge(request, settings, now)
    if challenge is None or not _form_ok(request, form_token):
        return _form(request, "login.html", 403, next=_safe_next(next), error="Please sign in again.")
    staff_id, email = challenge
    ip = request.client.host if request.client else "unknown"

    async def work(session: AsyncSession) -> StaffUser | AppError:
        try:
            return await staff.authenticate_code(session, settings, staff_id, email, code, ip, now)
        except (staff.LoginRefused, sign_in_guard.TooManyFailures) as refusal:
            return refusal  # returned, not raised: the failure it counted is committed

    outcome = await db.transaction(work)
    if isinstance(outcome, AppError):
        page = _form(
            request,
            "login_code.html",
            outcome.status,
            next=_safe_next(next),
            error=outcome.message[:1].upper() + outcome.message[1:] + ".",
        )
        page.headers.update(outcome.headers)
        return page
    return await _open(request, db, settings, outcome, next, now)


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

    try:
        user = await db.transaction(lambda session: staff.redeem(session, token, purpose, password, now))
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
    if two_factor.enabled(user):
        # A new password is not a second factor: whoever holds the e-mail still needs the code.
        return _ask_for_code(request, settings, user, PREFIX + "/schedule", now)
    return await _open(request, db, settings, user, PREFIX + "/schedule", now)


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
