"""Busy time as the scheduling domain reads it: blocks overlapping a window, and which providers'
calendars are not known to be current."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Exists, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars.models import BusyBlock, CalendarConnection


def overlapping(
    tenant_id: uuid.UUID, provider_ids: list[uuid.UUID], start: datetime, end: datetime
) -> Select[tuple[uuid.UUID, datetime, datetime]]:
    """(provider_id, starts_at, ends_at) of the busy blocks overlapping [start, end), written so the
    GiST index on (provider_id, tstzrange) serves it (and, under SERIALIZABLE, locks only its pages)."""
    return select(BusyBlock.provider_id, BusyBlock.starts_at, BusyBlock.ends_at).where(
        BusyBlock.tenant_id == tenant_id,
        BusyBlock.provider_id.in_(provider_ids),
        func.tstzrange(BusyBlock.starts_at, BusyBlock.ends_at).op("&&")(func.tstzrange(start, end)),
    )


def busy_during(provider_id: ColumnElement[uuid.UUID], span: ColumnElement[object]) -> Exists:
    """EXISTS: the provider has calendar busy time overlapping the range `span`."""
    return exists().where(
        BusyBlock.provider_id == provider_id,
        func.tstzrange(BusyBlock.starts_at, BusyBlock.ends_at).op("&&")(span),
    )


async def out_of_sync(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    provider_ids: list[uuid.UUID],
    now: datetime,
    stale_after: int,
) -> list[uuid.UUID]:
    """Providers with a connected calendar that is broken or has not been read lately: their free
    times may include busy time we have not seen."""
    if not provider_ids:
        return []
    rows = await session.execute(
        select(CalendarConnection.provider_id)
        .where(
            CalendarConnection.tenant_id == tenant_id,
            CalendarConnection.provider_id.in_(provider_ids),
            or_(
                CalendarConnection.status == "broken",
                CalendarConnection.last_synced_at.is_(None),
                CalendarConnection.last_synced_at < now - timedelta(seconds=stale_after),
            ),
        )
        .distinct()
    )
    return sorted(rows.scalars())
