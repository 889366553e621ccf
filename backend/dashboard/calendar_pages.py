"""Calendars: each provider's connected Google and CalDAV calendars, whether they are working and
current, what each calendar is for, busy time that clashes with bookings, and bookings that could
not be written. Connecting Google runs Google's consent page here (start, then callback)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars import connections, google_oauth
from backend.calendars.google_account import GoogleAccount
from backend.calendars.models import CalendarConflict, CalendarPush
from backend.calendars.remote import CalendarBroken, CalendarUnavailable
from backend.core.deps import AppSettings, Db, Now
from backend.core.errors import Forbidden, ValidationFailed
from backend.dashboard.render import PREFIX, StaffPage
from backend.scheduling import catalog

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@dataclass(frozen=True)
class Overview:
    providers: list[tuple[uuid.UUID, str]]
    views: list[connections.ConnectionView]
    conflicts: list[CalendarConflict]
    failed: list[CalendarPush]


def _owner(page: StaffPage) -> None:
    if not page.caller.is_owner:
        raise Forbidden("only an owner of the clinic can connect calendars")


@router.get("/calendars", response_class=HTMLResponse)
async def calendars_page(
    page: StaffPage, db: Db, now: Now, settings: AppSettings, connected: str | None = None
) -> HTMLResponse:
    tenant = page.caller.tenant

    async def read(session: AsyncSession) -> Overview:
        return Overview(
            providers=await catalog.active_providers(session, tenant),
            views=await connections.overview(session, tenant, now, settings.calendar_stale_after_seconds),
            conflicts=await connections.open_conflicts(session, tenant, now),
            failed=await connections.failed_pushes(session, tenant),
        )

    overview = await db.transaction(read)
    return page.render(
        "calendars.html",
        "calendars",
        overview=overview,
        google_enabled=settings.google_enabled,
        connected=connected,
    )


@router.get("/calendars/google/start")
async def google_start(
    provider_id: uuid.UUID, page: StaffPage, db: Db, now: Now, settings: AppSettings
) -> RedirectResponse:
    """Off to Google's consent page, with the flow's secrets in a sealed, short-lived cookie."""
    _owner(page)
    if not settings.google_enabled:
        raise ValidationFailed(
            "provider_id", "Google Calendar is not set up on this server (GOOGLE_CLIENT_ID)"
        )
    tenant = page.caller.tenant
    await db.transaction(lambda s: connections.provider_name(s, tenant, provider_id))
    url, sealed = google_oauth.begin(settings, settings.key_ring, tenant.id, provider_id, now)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        google_oauth.COOKIE,
        sealed,
        max_age=int(google_oauth.FLOW_LIFETIME.total_seconds()),
        path=PREFIX + "/calendars/google",
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
    )
    return response


@router.get("/calendars/google/callback")
async def google_callback(
    request: Request,
    page: StaffPage,
    db: Db,
    now: Now,
    settings: AppSettings,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> RedirectResponse:
    _owner(page)
    ring = settings.key_ring
    flow = google_oauth.returning(
        ring, request.cookies.get(google_oauth.COOKIE), state, page.caller.tenant.id, now
    )
    if error or not code:
        raise ValidationFailed(
            "code", f"Google did not give access ({error or 'no code'}); nothing was connected"
        )
    grant = await google_oauth.exchange(settings, code, flow)
    account = GoogleAccount(settings, grant.refresh_token, grant.scopes)
    try:
        found = await asyncio.to_thread(account.calendars)
    except (CalendarBroken, CalendarUnavailable) as problem:
        raise ValidationFailed(
            "code", f"connected, but the calendars could not be listed: {problem}"
        ) from None
    primary = next((c for c in found if c.primary), found[0] if found else None)
    if primary is None:
        raise ValidationFailed("code", "that Google account has no calendars")
    new = connections.NewConnection(
        provider_id=flow.provider_id,
        kind="google",
        account=primary.external_id,
        secret=grant.refresh_token,
        calendars=sorted(found, key=lambda c: not c.primary),
        scopes=grant.scopes,
    )
    await db.transaction(lambda s: connections.connect(s, page.caller, ring, new, now))
    response = RedirectResponse(f"{PREFIX}/calendars?connected=google", status_code=303)
    response.delete_cookie(google_oauth.COOKIE, path=PREFIX + "/calendars/google")
    return response
