"""The calendar API: connect a provider's CalDAV calendar, choose what each calendar is for, sync
now, disconnect, see freshness and conflicts; and the address Google's push notifications call.

Connecting Google needs the provider's browser (Google's consent page), so it starts in the
workspace (backend/dashboard/calendar_pages.py); everything after is here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import uuid
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars import connections, google_oauth
from backend.calendars.caldav_account import CalDavAccount
from backend.calendars.google_account import GoogleAccount
from backend.calendars.models import CalendarConnection, CalendarSource
from backend.calendars.remote import (
    CalendarAddressRefused,
    CalendarBroken,
    CalendarUnavailable,
    RemoteCalendar,
)
from backend.calendars.schemas import CaldavConnectIn, CalendarChoice, CalendarOut, ConflictOut, ConnectionOut
from backend.core.deps import AppSettings, Db, Now
from backend.core.errors import NotFound, ValidationFailed
from backend.core.schemas import error_responses
from backend.core.settings import Settings
from backend.tenants.deps import OwnerCaller, TenantCaller

log = logging.getLogger("frontdesk.calendars")
router = APIRouter(tags=["calendars"])
API = "/api/v1"


@router.get(f"{API}/calendar-connections", response_model=list[ConnectionOut])
async def list_connections(
    caller: TenantCaller, db: Db, now: Now, settings: AppSettings
) -> list[ConnectionOut]:
    """Every provider's connected calendars: working or broken, when last read, and what each is for."""
    views = await db.transaction(
        lambda s: connections.overview(s, caller.tenant, now, settings.calendar_stale_after_seconds)
    )
    return [ConnectionOut.of(view) for view in views]


@router.post(
    f"{API}/providers/{{provider_id}}/calendar-connections/caldav",
    status_code=201,
    response_model=ConnectionOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def connect_caldav(
    provider_id: uuid.UUID,
    body: CaldavConnectIn,
    caller: OwnerCaller,
    db: Db,
    now: Now,
    settings: AppSettings,
) -> ConnectionOut:
    """Connect a CalDAV account (iCloud, Fastmail, Nextcloud, Radicale…) with an app password.

    The calendar home is found from the server address; every event calendar there blocks the
    provider's time, and the first receives bookings (change either with PATCH /calendars/{id}).
    """
    await db.transaction(lambda s: connections.provider_name(s, caller.tenant, provider_id))
    _https_in_production(body.server_url, settings)
    found = await _discover(body, settings)
    new = connections.NewConnection(
        provider_id=provider_id,
        kind="caldav",
        account=body.username,
        secret=body.password,
        calendars=found,
        server_url=body.server_url,
    )
    ring = settings.key_ring

    async def work(session: AsyncSession) -> ConnectionOut:
        made = await connections.connect(session, caller, ring, new, now)
        [view] = await connections.overview(
            session, caller.tenant, now, settings.calendar_stale_after_seconds, only=made.id
        )
        return ConnectionOut.of(view)

    return await db.transaction(work)


@router.patch(
    f"{API}/calendars/{{calendar_id}}",
    response_model=CalendarOut,
    responses=error_responses(401, 403, 404, 422),
)
async def choose_calendar(
    calendar_id: uuid.UUID, body: CalendarChoice, caller: OwnerCaller, db: Db, now: Now
) -> CalendarOut:
    """Say whether a calendar blocks the provider's time and whether bookings are written to it."""

    async def work(session: AsyncSession) -> CalendarOut:
        source = await connections.choose(
            session, caller, calendar_id, body.blocks_time, body.receives_bookings, now
        )
        return CalendarOut.of(source)

    return await db.transaction(work)


@router.post(
    f"{API}/calendar-connections/{{connection_id}}/sync",
    status_code=202,
    responses=error_responses(401, 403, 404),
)
async def sync_now(connection_id: uuid.UUID, caller: TenantCaller, db: Db, now: Now) -> dict[str, str]:
    """Read the calendar now (within seconds) instead of at the next scheduled read. A broken
    connection is tried again: its status afterwards says whether it works."""
    await db.transaction(lambda s: connections.request_sync(s, caller, connection_id, now))
    return {"status": "sync requested"}


@router.delete(
    f"{API}/calendar-connections/{{connection_id}}", status_code=204, responses=error_responses(401, 403, 404)
)
async def disconnect(
    connection_id: uuid.UUID, caller: OwnerCaller, db: Db, settings: AppSettings
) -> Response:
    """Forget the connection and the busy time read through it; for Google, its watch channels are
    closed and the grant revoked. Events already written to the calendar stay there."""
    ring = settings.key_ring
    gone = await db.transaction(lambda s: connections.disconnect(s, caller, connection_id))
    connection = gone.connection
    if connection.kind == "google" and settings.google_enabled:
        token = ring.open(connection.secret_sealed, connection.secret_context)
        await asyncio.to_thread(_close_channels, settings, token, connection.scopes, gone.channels)
        await google_oauth.revoke(settings, token)
    return Response(status_code=204)


def _close_channels(
    settings: Settings, token: str, scopes: list[str], channels: list[tuple[str, str]]
) -> None:
    """Best effort, before the grant goes: Google would stop them with it, later."""
    if not channels:
        return
    account = GoogleAccount(settings, token, scopes)
    for channel_id, resource_id in channels:
        try:
            account.stop_watch(channel_id, resource_id)
        except (CalendarBroken, CalendarUnavailable):
            log.info("could not close a Google watch channel; it lapses with the grant")


@router.get(f"{API}/calendar-conflicts", response_model=list[ConflictOut])
async def list_conflicts(caller: TenantCaller, db: Db, now: Now) -> list[ConflictOut]:
    """Upcoming bookings that a provider's own calendar now shows them busy for."""
    found = await db.transaction(lambda s: connections.open_conflicts(s, caller.tenant, now))
    return [ConflictOut.of(c) for c in found]


@router.post(
    f"{API}/calendar-conflicts/{{conflict_id}}/dismiss",
    response_model=ConflictOut,
    responses=error_responses(401, 403, 404),
)
async def dismiss_conflict(conflict_id: uuid.UUID, caller: TenantCaller, db: Db, now: Now) -> ConflictOut:
    """Staff have dealt with it (moved the booking, or the provider will be there after all)."""
    return ConflictOut.of(
        await db.transaction(lambda s: connections.dismiss_conflict(s, caller, conflict_id, now))
    )


@router.post("/calendars/google/notifications", include_in_schema=False)
async def google_notification(
    db: Db,
    now: Now,
    channel_id: Annotated[str, Header(alias="X-Goog-Channel-ID", max_length=64)],
    token: Annotated[str, Header(alias="X-Goog-Channel-Token", max_length=256)] = "",
) -> Response:
    """Google says a watched calendar changed: read it now. The channel's token proves it is Google
    calling about a channel we opened."""

    async def work(session: AsyncSession) -> bool:
        row = (
            await session.execute(
                select(CalendarSource.connection_id, CalendarSource.watch_token_hash).where(
                    CalendarSource.watch_channel_id == channel_id
                )
            )
        ).first()
        if row is None:
            raise NotFound("unknown channel")
        connection_id, expected = row
        if not expected or not hmac.compare_digest(expected, hashlib.sha256(token.encode()).hexdigest()):
            return False
        connection = await session.get_one(CalendarConnection, connection_id)
        connection.sync_requested_at = now
        await connections.nudge(session)
        return True

    accepted = await db.transaction(work)
    return Response(status_code=200 if accepted else 403)


async def _discover(body: CaldavConnectIn, settings: Settings) -> list[RemoteCalendar]:
    account = CalDavAccount(
        body.server_url,
        body.username,
        body.password,
        private_networks=settings.calendar_reachable_private_networks,
    )
    try:
        found = await asyncio.to_thread(account.calendars)
    except CalendarAddressRefused as problem:
        raise ValidationFailed("server_url", str(problem)) from None
    except CalendarBroken as problem:
        raise ValidationFailed("password", f"{problem}; check the username and app password") from None
    except CalendarUnavailable as problem:
        raise ValidationFailed("server_url", str(problem)) from None
    if not found:
        raise ValidationFailed("server_url", "the account has no calendars with events on that server")
    return found


def _https_in_production(url: str, settings: Settings) -> None:
    """In production a CalDAV server is reached over https only. Whether its address may be reached
    is checked at every connection, this one and every sync after it (caldav_account)."""
    if settings.environment == "production" and urlsplit(url).scheme != "https":
        raise ValidationFailed("server_url", "use the server's https:// address")
