"""Domain events: an append-only record of what happened, for the event API and webhooks.

Written in the transaction of the change they describe (no event without the change, no change
without the event), with the correlation id of the request or job that caused it. Personal data
is redacted: an event names ids, never a patient's name, number or the text of a message.

Read back in (transaction id, id) order behind the oldest transaction still running
(`pg_snapshot_xmin`): an event whose transaction commits late was invisible to an earlier read and
sorts after everything that read returned, so a reader that follows its cursor never skips one.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import log_rows
from backend.core.context import Caller
from backend.core.errors import AppError, ValidationFailed
from backend.core.event_catalogue import EventData
from backend.core.models import DomainEvent, EventPurge

DOMAIN_EVENTS = DomainEvent.__table__

# Past every id: a cursor at (xid, END) is after all events of that transaction.
END = 2**62


def record(
    session: AsyncSession, tenant_id: uuid.UUID, event: EventData, *, correlation_id: str | None = None
) -> None:
    """Add the event to the transaction that makes the change it describes."""
    row = {
        "tenant_id": tenant_id,
        "type": event.type,
        "version": event.version,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "data": event.model_dump(mode="json"),
        "correlation_id": correlation_id,
    }
    log_rows.append(session, DOMAIN_EVENTS, row)


def emit(session: AsyncSession, caller: Caller, event: EventData) -> None:
    """An event of the caller's tenant, caused by the caller's request or job."""
    record(session, caller.tenant.id, event, correlation_id=caller.correlation_id)


@dataclass(frozen=True, order=True)
class Cursor:
    xid: int
    id: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"1.{self.xid}.{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str, field: str = "after") -> Cursor:
        try:
            version, xid, event_id = (
                base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split(".")
            )
            if version != "1":
                raise ValueError(version)
            return cls(int(xid), int(event_id))
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise ValidationFailed(field, "not a cursor this API returned") from error


@dataclass(frozen=True)
class StoredEvent:
    id: int
    tenant_id: uuid.UUID
    type: str
    version: int
    entity_type: str
    entity_id: str
    data: dict[str, Any]
    occurred_at: datetime
    correlation_id: str | None
    cursor: Cursor


class CursorExpired(AppError):
    status = 410
    code = "CURSOR_EXPIRED"


@dataclass(frozen=True)
class Page:
    events: list[StoredEvent]
    # Where to read on from: past the last event returned, or past everything final when the
    # page is not full, so a filtered reader does not rescan what it has already passed.
    next: Cursor
    has_more: bool


_COLUMNS = (
    "id, tenant_id, type, version, entity_type, entity_id, data, occurred_at, correlation_id, "
    "xid::text::bigint AS xid"
)


async def horizon(session: AsyncSession) -> int:
    """The oldest transaction still running: every event written by an older one is final."""
    return int(await session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))


async def head(session: AsyncSession) -> Cursor:
    """A cursor after every event already final: a reader starting here sees what comes next."""
    return Cursor(await horizon(session) - 1, END)


async def read(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    after: Cursor | None,
    *,
    types: list[str] | None = None,
    limit: int = 100,
) -> Page:
    """A tenant's events after `after` in stream order, up to the horizon."""
    start = after or Cursor(0, 0)
    if after is not None:
        await _refuse_expired(session, tenant_id, after)
    final = await horizon(session)
    query = (
        f"SELECT {_COLUMNS} FROM domain_events "  # noqa: S608 (a fixed column list)
        "WHERE tenant_id = :tenant AND xid < frontdesk_xid8(:final) "
        "AND (xid, id) > (frontdesk_xid8(:xid), :id) "
        + ("AND type = ANY(:types) " if types else "")
        + "ORDER BY xid, id LIMIT :limit"
    )
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "final": final,
        "xid": start.xid,
        "id": start.id,
        "limit": limit + 1,
    }
    if types:
        params["types"] = types
    found = [_stored(row) for row in (await session.execute(text(query), params)).mappings()]
    if len(found) > limit:
        return Page(found[:limit], found[limit - 1].cursor, has_more=True)
    return Page(found, max(start, Cursor(final - 1, END)), has_more=False)


async def _refuse_expired(session: AsyncSession, tenant_id: uuid.UUID, start: Cursor) -> None:
    purged = await session.get(EventPurge, tenant_id)
    if purged is not None and start < Cursor(purged.xid, purged.id):
        raise CursorExpired(
            "events after this cursor have passed the retention period and are gone; "
            "start again without `after` (from the oldest event kept), or replay a time range",
            details={"purged_at": purged.purged_at.isoformat()},
        )


async def by_ids(session: AsyncSession, tenant_id: uuid.UUID, event_ids: list[int]) -> list[StoredEvent]:
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM domain_events WHERE tenant_id = :t AND id = ANY(:ids)"),  # noqa: S608
        {"t": tenant_id, "ids": event_ids},
    )
    return [_stored(row) for row in rows.mappings()]


async def between(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    types: list[str] | None = None,
    limit: int,
) -> list[StoredEvent]:
    """Events that occurred in [start, end), in stream order: what a time-range replay sends."""
    rows = await session.execute(
        text(
            f"SELECT {_COLUMNS} FROM domain_events WHERE tenant_id = :t "  # noqa: S608
            "AND occurred_at >= :start AND occurred_at < :end "
            + ("AND type = ANY(:types) " if types else "")
            + "ORDER BY xid, id LIMIT :limit"
        ),
        {"t": tenant_id, "start": start, "end": end, "limit": limit, **({"types": types} if types else {})},
    )
    return [_stored(row) for row in rows.mappings()]


async def purge(session: AsyncSession, before: datetime, batch: int = 5000) -> int:
    """Forget events older than the retention, a batch at a time so a sweep stays short, and
    remember per tenant how far the stream is gone."""
    gone = await session.execute(
        text(
            "WITH gone AS (DELETE FROM domain_events WHERE id IN "
            "(SELECT id FROM domain_events WHERE occurred_at < :before ORDER BY id LIMIT :batch) "
            "RETURNING tenant_id, xid::text::bigint AS xid, id) "
            "SELECT DISTINCT ON (tenant_id) tenant_id, xid, id, count(*) OVER () AS total FROM gone "
            "ORDER BY tenant_id, xid DESC, id DESC"
        ),
        {"before": before, "batch": batch},
    )
    total = 0
    for row in gone.mappings():
        total = row["total"]
        await session.execute(
            text(
                "INSERT INTO event_purges (tenant_id, xid, id, purged_at) VALUES (:t, :xid, :id, now()) "
                "ON CONFLICT (tenant_id) DO UPDATE SET purged_at = now(), "
                "xid = GREATEST(event_purges.xid, EXCLUDED.xid), "
                "id = CASE WHEN EXCLUDED.xid > event_purges.xid THEN EXCLUDED.id "
                "WHEN EXCLUDED.xid < event_purges.xid THEN event_purges.id "
                "ELSE GREATEST(event_purges.id, EXCLUDED.id) END"
            ),
            {"t": row["tenant_id"], "xid": row["xid"], "id": row["id"]},
        )
    return int(total)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        tenant_id=row["tenant_id"],
        type=row["type"],
        version=row["version"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        data=row["data"],
        occurred_at=row["occurred_at"],
        correlation_id=row["correlation_id"],
        cursor=Cursor(row["xid"], row["id"]),
    )
