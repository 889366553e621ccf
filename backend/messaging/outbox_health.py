"""The outbox's state for operators: how many rows per status and how old the oldest is, and which
providers' circuits are open (read when `/metrics` is scraped)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.messaging.models import OutboxMessage, ProviderCircuit

# Terminal statuses grow for ever; what an operator watches is what has not gone yet.
WATCHED = ("rendering", "pending", "sending", "failed", "rate_limited")


async def depth(session: AsyncSession, now: datetime) -> dict[str, tuple[int, float]]:
    """(rows, age of the oldest in seconds) per unsent status, over every tenant."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_(WATCHED))
        .group_by(OutboxMessage.status)
    )
    found = {status: (count, (now - oldest).total_seconds()) for status, count, oldest in rows.all()}
    return {status: found.get(status, (0, 0.0)) for status in WATCHED}


async def open_circuits(session: AsyncSession, now: datetime) -> dict[str, bool]:
    rows = await session.execute(select(ProviderCircuit.provider, ProviderCircuit.opened_until))
    return {provider: until is not None and until > now for provider, until in rows.all()}
