"""Inbound sync: a provider's connected calendars read into busy blocks.

Each calendar is read outside any transaction (the service may be slow), then written in one
SERIALIZABLE transaction behind the tenant's booking gate, the same gate every booking takes: a
booking and a sync of the same time run one after the other, never beside each other. Either the
busy block lands first and the booking is refused (availability, the provider check and the
database trigger all see it), or the booking lands first and the block that arrives over it is
flagged to staff as a conflict. Nothing is moved or dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars import reading, watches
from backend.calendars.accounts import open_account
from backend.calendars.google_account import GoogleAccount
from backend.calendars.models import (
    BusyBlock,
    CalendarConflict,
    CalendarConnection,
    CalendarItem,
    CalendarSource,
)
from backend.calendars.reading import Batch, ItemUpdate, Range
from backend.calendars.remote import CalendarBroken, CalendarUnavailable
from backend.core import events
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.event_catalogue import CalendarConflictFound, CalendarSyncFailed
from backend.core.settings import Settings
from backend.messaging import staff_alerts
from backend.scheduling import availability, guards
from backend.tenants import service as tenants

log = logging.getLogger("frontdesk.calendars")

WORKER = "worker"
# Busy time is kept from a day back (a booking "today" still sees this morning) to a little past
# the furthest day patients may book.
LOOK_BACK = timedelta(days=1)
LOOK_AHEAD_SLACK = timedelta(days=2)
CONNECTIONS_PER_SWEEP = 20
# Events written per transaction (see CalendarSync._write).
WRITE_CHUNK = 500


@dataclass(frozen=True)
class SyncResult:
    calendars: int
    items: int
    conflicts: int
    error: str | None = None


def booking_window(tenant: TenantContext, now: datetime) -> Range:
    return now - LOOK_BACK, now + timedelta(days=tenant.settings.max_days_ahead) + LOOK_AHEAD_SLACK


class CalendarSync:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    async def sync_due(self, now: datetime) -> int:
        """Read the connections asked for (a push notification, "sync now") and those not read for
        a sync interval. Broken ones wait for a person to reconnect them."""
        interval = timedelta(seconds=self._settings.calendar_sync_seconds)

        async def due(session: AsyncSession) -> list[uuid.UUID]:
            rows = await session.execute(
                select(CalendarConnection.id)
                .where(
                    CalendarConnection.status == "connected",
                    or_(
                        CalendarConnection.sync_requested_at.is_not(None),
                        CalendarConnection.last_synced_at.is_(None),
                        CalendarConnection.last_synced_at < now - interval,
                    ),
                )
                .order_by(
                    CalendarConnection.sync_requested_at.desc().nulls_last(),
                    CalendarConnection.last_synced_at,
                )
                .limit(CONNECTIONS_PER_SWEEP)
            )
            return list(rows.scalars())

        connections = await self._db.transaction(due)
        for connection_id in connections:
            await self.sync_connection(connection_id, now)
        return len(connections)

    async def sync_connection(self, connection_id: uuid.UUID, now: datetime) -> SyncResult:
        loaded = await self._db.transaction(lambda s: _load(s, connection_id))
        if loaded is None:
            return SyncResult(0, 0, 0, "disconnected")
        connection, sources, tenant = loaded
        window = booking_window(tenant, now)
        items = conflicts = 0
        try:
            account = open_account(self._settings, self._settings.key_ring, connection)
            for source in sources:
                batch = await asyncio.to_thread(
                    reading.read_changes,
                    account,
                    source.external_id,
                    source.sync_token,
                    connection.account,
                    window,
                    tenant.timezone,
                )
                again = await self._recurring_to_expand(source, batch, window, tenant)
                conflicts += await self._write(tenant, source, batch, again, window, now)
                items += len(batch.updates)
            if isinstance(account, GoogleAccount):
                channels = await asyncio.to_thread(watches.renew, self._settings, account, sources, now)
                await self._db.transaction(lambda s: watches.record(s, channels))
        except CalendarBroken as problem:
            error = str(problem)
            await self._db.transaction(lambda s: _broken(s, tenant, connection_id, error, now))
            return SyncResult(len(sources), items, conflicts, error)
        except CalendarUnavailable as problem:
            error = str(problem)
            await self._db.transaction(lambda s: _failed_once(s, connection_id, error))
            log.warning("calendar sync failed, will retry: %s", error)
            return SyncResult(len(sources), items, conflicts, error)
        await self._db.transaction(lambda s: _synced(s, connection_id, now))
        return SyncResult(len(sources), items, conflicts)

    async def _write(
        self,
        tenant: TenantContext,
        source: CalendarSource,
        batch: Batch,
        again: dict[int, list[Range]] | None,
        window: Range,
        now: datetime,
    ) -> int:
        """Write a calendar's changes a chunk per transaction, each behind the tenant's booking
        gate: a first read of a big calendar never holds the clinic's bookings up for long. The
        sync token is stored last, so a sync cut short is read again from the old token (every
        write here is an idempotent upsert), and deleted events free their time only then."""
        updates = list(batch.updates.values())
        chunks = [updates[i : i + WRITE_CHUNK] for i in range(0, len(updates), WRITE_CHUNK)] or [[]]
        found = 0
        for position, chunk in enumerate(chunks):
            expanded = (again or {}) if position == 0 else {}
            found += await self._db.transaction(
                lambda s, chunk=chunk, expanded=expanded: _write_items(
                    s, tenant, source, chunk, expanded, now
                ),
                isolation="SERIALIZABLE",
                gate=guards.writer_gate(tenant.id),
            )
        await self._db.transaction(
            lambda s: _close_batch(s, source, batch, again is not None, window, now),
            isolation="SERIALIZABLE",
            gate=guards.writer_gate(tenant.id),
        )
        return found

    async def _recurring_to_expand(
        self, source: CalendarSource, batch: Batch, window: Range, tenant: TenantContext
    ) -> dict[int, list[Range]] | None:
        """Once a day, recurring events are expanded over the window as it now is; None between."""
        if source.expanded_through is not None and source.expanded_through >= window[1] - timedelta(days=1):
            return None

        async def shapes(session: AsyncSession) -> dict[int, str]:
            rows = await session.execute(
                select(CalendarItem.id, CalendarItem.external_key, CalendarItem.busy_shape).where(
                    CalendarItem.source_id == source.id, CalendarItem.recurring
                )
            )
            return {i: shape for i, key, shape in rows if key not in batch.updates and shape}

        stored = await self._db.transaction(shapes)
        return await asyncio.to_thread(reading.expand_again, stored, window, tenant.timezone)


async def _load(
    session: AsyncSession, connection_id: uuid.UUID
) -> tuple[CalendarConnection, list[CalendarSource], TenantContext] | None:
    """The connection and its calendars that block time; None once it has been disconnected."""
    connection = await session.get(CalendarConnection, connection_id)
    if connection is None:
        return None
    sources = await session.execute(
        select(CalendarSource)
        .where(CalendarSource.connection_id == connection_id, CalendarSource.blocks_time)
        .order_by(CalendarSource.created_at)
    )
    return connection, list(sources.scalars()), await tenants.get_context(session, connection.tenant_id)


async def _write_items(
    session: AsyncSession,
    tenant: TenantContext,
    source: CalendarSource,
    updates: list[ItemUpdate],
    expanded: dict[int, list[Range]],
    now: datetime,
) -> int:
    """Upsert these events and replace their busy blocks; the number of new conflicts with bookings."""
    items = CalendarItem.__table__
    fresh: dict[int, list[Range]] = dict(expanded)
    if updates:
        upsert = insert(items).values(
            [
                {
                    "tenant_id": tenant.id,
                    "source_id": source.id,
                    "external_key": u.key,
                    "etag": u.etag,
                    "busy_shape": u.shape,
                    "recurring": u.recurring,
                }
                for u in updates
            ]
        )
        upsert = upsert.on_conflict_do_update(
            constraint="calendar_items_once",
            set_={
                "etag": upsert.excluded.etag,
                "busy_shape": upsert.excluded.busy_shape,
                "recurring": upsert.excluded.recurring,
            },
        ).returning(items.c.id, items.c.external_key)
        ranges = {u.key: u.ranges for u in updates}
        for item_id, key in await session.execute(upsert):
            fresh[item_id] = ranges[key]
    blocks = [(item_id, r) for item_id, item_ranges in fresh.items() for r in item_ranges]
    if fresh:
        await session.execute(delete(BusyBlock).where(BusyBlock.item_id.in_(list(fresh))))
    if blocks:
        await session.execute(
            insert(BusyBlock.__table__),
            [
                {
                    "tenant_id": tenant.id,
                    "provider_id": source.provider_id,
                    "item_id": item_id,
                    "starts_at": r[0],
                    "ends_at": r[1],
                }
                for item_id, r in blocks
            ],
        )
    return await _flag_conflicts(session, tenant, source, blocks, now)


async def _close_batch(
    session: AsyncSession, source: CalendarSource, batch: Batch, expanded: bool, window: Range, now: datetime
) -> None:
    """Forget the events the calendar no longer has, and store where the next read starts."""
    gone = delete(CalendarItem).where(CalendarItem.source_id == source.id)
    if batch.complete:
        await session.execute(gone.where(CalendarItem.external_key.not_in(list(batch.updates))))
    elif batch.deleted:
        await session.execute(gone.where(CalendarItem.external_key.in_(list(batch.deleted))))
    await session.execute(
        update(CalendarSource)
        .where(CalendarSource.id == source.id)
        .values(
            sync_token=batch.sync_token,
            last_synced_at=now,
            expanded_through=window[1] if expanded else source.expanded_through,
        )
    )


async def _flag_conflicts(
    session: AsyncSession,
    tenant: TenantContext,
    source: CalendarSource,
    blocks: list[tuple[int, Range]],
    now: datetime,
) -> int:
    upcoming = [(item_id, r) for item_id, r in blocks if r[1] > now]
    clashes = await availability.appointments_over(
        session, tenant, source.provider_id, [r for _, r in upcoming], now
    )
    if not clashes:
        return 0
    caller = Caller(tenant, WORKER, f"calendar:{source.connection_id}")
    found = 0
    for appointment_id, position in clashes:
        item_id, (starts, ends) = upcoming[position]
        added = await session.execute(
            insert(CalendarConflict)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                appointment_id=appointment_id,
                item_id=item_id,
                starts_at=starts,
                ends_at=ends,
            )
            .on_conflict_do_nothing(constraint="calendar_conflicts_once")
            .returning(CalendarConflict.id)
        )
        if added.first() is None:
            continue
        found += 1
        events.emit(
            session,
            caller,
            CalendarConflictFound(
                appointment_id=appointment_id,
                provider_id=source.provider_id,
                busy_starts_at=starts,
                busy_ends_at=ends,
            ),
        )
        local = starts.astimezone(tenant.timezone)
        await staff_alerts.tell_staff(
            session,
            caller,
            kind="calendar_conflict",
            subject="a provider's calendar clashes with a booking",
            body=(
                f"The calendar connected for a provider now shows them busy on {local:%A %d %B %Y at %H:%M}, "
                "over an appointment already booked. Frontdesk has kept the appointment; please move it "
                "or the other event."
            ),
            dedupe_key=f"calendar_conflict:{appointment_id}:{item_id}",
            now=now,
            see="Calendars",
        )
    return found


async def _synced(session: AsyncSession, connection_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(CalendarConnection)
        .where(CalendarConnection.id == connection_id)
        .values(last_synced_at=now, last_error=None, sync_requested_at=None, status="connected")
    )


async def _failed_once(session: AsyncSession, connection_id: uuid.UUID, error: str) -> None:
    """A passing failure: kept to show staff, retried at the next sweep."""
    await session.execute(
        update(CalendarConnection)
        .where(CalendarConnection.id == connection_id)
        .values(last_error=error[:500], sync_requested_at=None)
    )


async def _broken(
    session: AsyncSession, tenant: TenantContext, connection_id: uuid.UUID, error: str, now: datetime
) -> None:
    connection = await session.get_one(CalendarConnection, connection_id, with_for_update=True)
    was_working = connection.status != "broken"
    connection.status, connection.last_error, connection.sync_requested_at = "broken", error[:500], None
    if not was_working:
        return
    caller = Caller(tenant, WORKER, f"calendar:{connection.id}")
    events.emit(
        session,
        caller,
        CalendarSyncFailed(
            calendar_connection_id=connection.id,
            provider_id=connection.provider_id,
            failure="connection_broken",
            error=error[:500],
        ),
    )
    await staff_alerts.tell_staff(
        session,
        caller,
        kind="calendar_broken",
        subject="a provider's calendar connection stopped working",
        body=(
            f"Frontdesk can no longer read the {connection.kind} calendar connected as {connection.account}: "
            f"{error}\n\nUntil it is reconnected, that provider's busy time is not known and patients may be "
            "offered times when they are busy."
        ),
        dedupe_key=f"calendar_broken:{connection.id}:{now:%Y-%m-%dT%H}",
        now=now,
        see="Calendars",
    )
