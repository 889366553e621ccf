"""The outbox's state for operators (read when `/metrics` is scraped, and by the worker's sweep):
rows per status and the oldest of each, the messages due and not sent and how long the oldest has
waited, which providers' circuits are open, and the workers' heartbeats."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.messaging.models import OutboxMessage, ProviderCircuit, WorkerHeartbeat
from backend.messaging.outbox import CLAIMABLE

# Terminal statuses grow for ever; what an operator watches is what has not gone yet.
WATCHED = ("rendering", "pending", "sending", "failed", "rate_limited")
# A worker that has not beaten for this long is gone; its row is forgotten after a day.
FORGET_WORKERS_AFTER = timedelta(days=1)


async def depth(session: AsyncSession, now: datetime) -> dict[str, tuple[int, float]]:
    """(rows, age of the oldest in seconds) per unsent status, over every tenant."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(WATCHED))
        .group_by(OutboxMessage.status)
    )
    found = {status: (count, (now - oldest).total_seconds()) for status, count, oldest in rows.all()}
    return {status: found.get(status, (0, 0.0)) for status in WATCHED}


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows that should be going now: due and unsent, or left `sending` by a worker that died."""
    return or_(
        and_(OutboxMessage.status.in_(CLAIMABLE), OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
    )


# Since when a due row has been waiting: its due time, or the end of its dead worker's lease.
_WAITING_SINCE = case(
    (OutboxMessage.status == "sending", OutboxMessage.lease_until), else_=OutboxMessage.next_attempt_at
)


async def waiting(session: AsyncSession, now: datetime) -> dict[uuid.UUID, tuple[int, float]]:
    """Per tenant with any: (messages due and not sent, seconds the oldest of them has waited)."""
    rows = await session.execute(
        select(OutboxMessage.tenant_id, func.count(), func.min(_WAITING_SINCE))
        .where(_due(now))
        .group_by(OutboxMessage.tenant_id)
    )
    return {tenant: (count, (now - since).total_seconds()) for tenant, count, since in rows.all()}


async def open_circuits(session: AsyncSession, now: datetime) -> dict[str, bool]:
    rows = await session.execute(select(ProviderCircuit.provider, ProviderCircuit.opened_until))
    return {provider: until is not None and until > now for provider, until in rows.all()}


async def beat(session: AsyncSession, worker: str, started_at: datetime, now: datetime) -> None:
    """This worker's loop turns; workers silent for a day are forgotten."""
    await session.execute(
        insert(WorkerHeartbeat)
        .values(worker=worker, started_at=started_at, beat_at=now)
        .on_conflict_do_update(index_elements=[WorkerHeartbeat.worker], set_={"beat_at": now})
    )
    await session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_WORKERS_AFTER))


async def workers(session: AsyncSession, now: datetime, alive_within: timedelta) -> tuple[int, float | None]:
    """(workers that beat within `alive_within`, seconds since the latest beat of any; None: none ever)."""
    alive, latest = (
        await session.execute(
            select(
                func.count().filter(WorkerHeartbeat.beat_at >= now - alive_within),
                func.max(WorkerHeartbeat.beat_at),
            )
        )
    ).one()
    return alive, None if latest is None else (now - latest).total_seconds()
