"""Connecting, choosing and disconnecting providers' calendars, and what staff see of them.

A connection's secret is sealed before it is stored and never leaves this module again except to
the calendar service: not in responses, the audit log or the logs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars.models import (
    CalendarConflict,
    CalendarConnection,
    CalendarItem,
    CalendarPush,
    CalendarSource,
)
from backend.calendars.remote import RemoteCalendar
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.crypto import KeyRing
from backend.core.errors import Conflict, NotFound
from backend.scheduling import catalog


@dataclass
class NewConnection:
    provider_id: uuid.UUID
    kind: str
    account: str
    secret: str
    calendars: list[RemoteCalendar]
    server_url: str | None = None
    scopes: list[str] = field(default_factory=list)


@dataclass
class ConnectionView:
    connection: CalendarConnection
    provider_name: str
    sources: list[CalendarSource]
    in_sync: bool
    lag_seconds: int | None


async def provider_name(session: AsyncSession, tenant: TenantContext, provider_id: uuid.UUID) -> str:
    names = dict(await catalog.active_providers(session, tenant))
    if provider_id not in names:
        raise NotFound(f"provider {provider_id} not found", details={"provider_id": str(provider_id)})
    return names[provider_id]


async def connect(
    session: AsyncSession, caller: Caller, ring: KeyRing, new: NewConnection, now: datetime
) -> CalendarConnection:
    """Store the connection with its calendars. Every calendar blocks time at first (a provider's
    busy time anywhere is busy time); the first receives bookings unless another already does."""
    tenant = caller.tenant
    await provider_name(session, tenant, new.provider_id)
    existing = await session.execute(
        select(CalendarConnection.id).where(
            CalendarConnection.tenant_id == tenant.id,
            CalendarConnection.provider_id == new.provider_id,
            CalendarConnection.kind == new.kind,
            CalendarConnection.account == new.account,
        )
    )
    if existing.first() is not None:
        raise Conflict(
            f"{new.account} is already connected for this provider; disconnect it first to connect it again",
            details={"account": new.account},
        )
    connection = CalendarConnection(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        provider_id=new.provider_id,
        kind=new.kind,
        account=new.account,
        server_url=new.server_url,
        scopes=new.scopes,
        status="connected",
        sync_requested_at=now,
    )
    connection.secret_sealed = ring.seal(new.secret, connection.secret_context)
    session.add(connection)
    receiver = await session.execute(
        select(CalendarSource.id).where(
            CalendarSource.provider_id == new.provider_id, CalendarSource.receives_bookings
        )
    )
    needs_receiver = receiver.first() is None
    for position, remote in enumerate(new.calendars):
        session.add(
            CalendarSource(
                tenant_id=tenant.id,
                connection_id=connection.id,
                provider_id=new.provider_id,
                external_id=remote.external_id,
                name=remote.name[:300],
                blocks_time=True,
                receives_bookings=needs_receiver and position == 0,
            )
        )
    await _flush_or_conflict(session)
    audit.record(
        session,
        caller,
        "calendar.connected",
        "calendar_connection",
        connection.id,
        {"kind": new.kind, "provider_id": str(new.provider_id), "calendars": len(new.calendars)},
    )
    await nudge(session)
    return connection


async def choose(
    session: AsyncSession,
    caller: Caller,
    source_id: uuid.UUID,
    blocks_time: bool | None,
    receives_bookings: bool | None,
    now: datetime,
) -> CalendarSource:
    source = await _source(session, caller.tenant, source_id)
    if receives_bookings:
        # The provider's previous receiver stops receiving in the same statement order: one at a time.
        await session.execute(
            update(CalendarSource)
            .where(
                CalendarSource.provider_id == source.provider_id,
                CalendarSource.id != source.id,
                CalendarSource.receives_bookings,
            )
            .values(receives_bookings=False)
        )
    if receives_bookings is not None:
        source.receives_bookings = receives_bookings
    if blocks_time is not None and blocks_time != source.blocks_time:
        source.blocks_time = blocks_time
        # Start over: a calendar that stops blocking leaves no busy time; one that starts is read in full.
        source.sync_token, source.expanded_through = None, None
        await session.execute(delete(CalendarItem).where(CalendarItem.source_id == source.id))
        await request_sync(session, caller, source.connection_id, now)
    await _flush_or_conflict(session)
    audit.record(
        session,
        caller,
        "calendar.chosen",
        "calendar_source",
        source.id,
        {"blocks_time": source.blocks_time, "receives_bookings": source.receives_bookings},
    )
    return source


async def request_sync(
    session: AsyncSession, caller: Caller, connection_id: uuid.UUID, now: datetime
) -> None:
    connection = await get_connection(session, caller.tenant, connection_id)
    connection.sync_requested_at = now
    if connection.status == "broken":
        connection.status = "connected"  # a person asked: try again, and show what it says
    await nudge(session)


@dataclass(frozen=True)
class Disconnected:
    connection: CalendarConnection
    # Google watch channels that were open: (channel id, resource id), to be closed at Google.
    channels: list[tuple[str, str]]


async def disconnect(session: AsyncSession, caller: Caller, connection_id: uuid.UUID) -> Disconnected:
    """Forget the connection, its calendars and the busy time read from them."""
    connection = await get_connection(session, caller.tenant, connection_id)
    watched = await session.execute(
        select(CalendarSource.watch_channel_id, CalendarSource.watch_resource_id).where(
            CalendarSource.connection_id == connection.id, CalendarSource.watch_channel_id.is_not(None)
        )
    )
    channels = [(channel, resource) for channel, resource in watched if channel and resource]
    await session.delete(connection)
    await session.flush()
    audit.record(
        session,
        caller,
        "calendar.disconnected",
        "calendar_connection",
        connection.id,
        {"kind": connection.kind, "provider_id": str(connection.provider_id)},
    )
    return Disconnected(connection, channels)


async def get_connection(
    session: AsyncSession, tenant: TenantContext, connection_id: uuid.UUID
) -> CalendarConnection:
    connection = (
        await session.execute(
            select(CalendarConnection).where(
                CalendarConnection.id == connection_id, CalendarConnection.tenant_id == tenant.id
            )
        )
    ).scalar_one_or_none()
    if connection is None:
        raise NotFound(
            f"calendar connection {connection_id} not found", details={"connection_id": str(connection_id)}
        )
    return connection


async def overview(
    session: AsyncSession,
    tenant: TenantContext,
    now: datetime,
    stale_after_seconds: int,
    only: uuid.UUID | None = None,
) -> list[ConnectionView]:
    """Every connection of the tenant (or `only` that one), with its calendars and freshness."""
    names = dict(await catalog.active_providers(session, tenant))
    chosen = select(CalendarConnection).where(CalendarConnection.tenant_id == tenant.id)
    calendars = select(CalendarSource).where(CalendarSource.tenant_id == tenant.id)
    if only is not None:
        chosen = chosen.where(CalendarConnection.id == only)
        calendars = calendars.where(CalendarSource.connection_id == only)
    connections = list((await session.execute(chosen.order_by(CalendarConnection.created_at))).scalars())
    sources = (await session.execute(calendars.order_by(CalendarSource.name))).scalars()
    by_connection: dict[uuid.UUID, list[CalendarSource]] = {}
    for source in sources:
        by_connection.setdefault(source.connection_id, []).append(source)
    stale = timedelta(seconds=stale_after_seconds)
    views = []
    for connection in connections:
        synced = connection.last_synced_at
        views.append(
            ConnectionView(
                connection=connection,
                provider_name=names.get(connection.provider_id, "(removed provider)"),
                sources=by_connection.get(connection.id, []),
                in_sync=connection.status == "connected" and synced is not None and now - synced <= stale,
                lag_seconds=int((now - synced).total_seconds()) if synced else None,
            )
        )
    return views


async def open_conflicts(
    session: AsyncSession, tenant: TenantContext, now: datetime
) -> list[CalendarConflict]:
    rows = await session.execute(
        select(CalendarConflict)
        .where(
            CalendarConflict.tenant_id == tenant.id,
            CalendarConflict.dismissed_at.is_(None),
            CalendarConflict.ends_at > now,
        )
        .order_by(CalendarConflict.starts_at)
        .limit(200)
    )
    return list(rows.scalars())


async def dismiss_conflict(
    session: AsyncSession, caller: Caller, conflict_id: uuid.UUID, now: datetime
) -> CalendarConflict:
    conflict = (
        await session.execute(
            select(CalendarConflict).where(
                CalendarConflict.id == conflict_id, CalendarConflict.tenant_id == caller.tenant.id
            )
        )
    ).scalar_one_or_none()
    if conflict is None:
        raise NotFound(f"conflict {conflict_id} not found", details={"conflict_id": str(conflict_id)})
    if conflict.dismissed_at is None:
        conflict.dismissed_at = now
        audit.record(session, caller, "calendar.conflict_dismissed", "appointment", conflict.appointment_id)
    return conflict


async def failed_pushes(session: AsyncSession, tenant: TenantContext) -> list[CalendarPush]:
    """Bookings that could not be written to a calendar after every retry."""
    rows = await session.execute(
        select(CalendarPush)
        .where(CalendarPush.tenant_id == tenant.id, CalendarPush.state == "failed")
        .order_by(CalendarPush.updated_at.desc())
        .limit(50)
    )
    return list(rows.scalars())


async def _source(session: AsyncSession, tenant: TenantContext, source_id: uuid.UUID) -> CalendarSource:
    source = (
        await session.execute(
            select(CalendarSource).where(
                CalendarSource.id == source_id, CalendarSource.tenant_id == tenant.id
            )
        )
    ).scalar_one_or_none()
    if source is None:
        raise NotFound(f"calendar {source_id} not found", details={"calendar_id": str(source_id)})
    return source


async def _flush_or_conflict(session: AsyncSession) -> None:
    """Two people connecting the same account, or choosing receivers, at the same moment: one of
    them is told to look again, not shown a server error."""
    try:
        await session.flush()
    except IntegrityError as problem:
        raise Conflict(
            "someone changed these calendars at the same moment; reload and try again"
        ) from problem


async def nudge(session: AsyncSession) -> None:
    """Wake the worker to read the calendar now rather than at the next sweep (sent on commit)."""
    await session.execute(text("SELECT pg_notify('frontdesk_work', 'calendar_connections')"))


async def reseal_all(session: AsyncSession, ring: KeyRing) -> int:
    """Seal every connection's secret again under the ring's current key; the number changed."""
    changed = 0
    for connection in (await session.execute(select(CalendarConnection).with_for_update())).scalars():
        resealed = ring.resealed(connection.secret_sealed, connection.secret_context)
        if resealed is not None:
            connection.secret_sealed = resealed
            changed += 1
    return changed
