"""The layers that keep a calendar from being double-booked, as the booking writes use them.

Run every booking write as `Database.transaction(work, isolation="SERIALIZABLE", gate=writer_gate(tenant))`.
The layers: the gate orders one tenant's booking transactions on fresh snapshots; inside, a
transaction-scoped advisory lock per provider and local day lines up contenders for one calendar;
SERIALIZABLE plus the runner's retry catches what slips past; and the EXCLUDE constraints and the
hold/appointment triggers (alembic 0001) make an overlap impossible whatever the code does. An
overlap reported by the database becomes `SlotTaken`, never a server error.

The one exception to the tenant gate is a one-step booking that names its provider
(`booking.gate_for_booking`): it reads no row another booking writes, so it keeps every layer but
the ordering, and one tenant's calendars book in parallel.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.core.db import EXCLUSION_VIOLATION, sqlstate
from backend.core.errors import (
    SlotTaken,
)
from backend.scheduling.slots import days_between

TAKEN_MESSAGE = "that time was just taken; please choose another time"


def writer_gate(tenant_id: uuid.UUID) -> int:
    """The advisory lock key ordering one tenant's booking transactions.

    Without it, SERIALIZABLE aborts bookings of different calendars that merely share index pages
    (predicate locks are page-grained), which on a busy tenant means retry storms. Tenants still
    book in parallel.
    """
    return lock_key(tenant_id, "booking-writes")


_LOCK_DAY = text("SELECT pg_advisory_xact_lock(:key)")


async def lock_days(
    session: AsyncSession, tenant: TenantContext, spans: list[tuple[uuid.UUID, datetime, datetime]]
) -> None:
    """Take the advisory lock of every (provider, local day) the spans touch, in one global order."""
    keys = set()
    for provider_id, start, end in spans:
        first = start.astimezone(tenant.timezone).date()
        last = (end - timedelta(microseconds=1)).astimezone(tenant.timezone).date()
        keys.update(lock_key(provider_id, day) for day in days_between(first, last))
    for key in sorted(keys):
        await session.execute(_LOCK_DAY, {"key": key})


def lock_key(owner: uuid.UUID, scope: date | str) -> int:
    text_scope = scope.isoformat() if isinstance(scope, date) else scope
    digest = hashlib.blake2b(f"{owner}:{text_scope}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@asynccontextmanager
async def taken_on_overlap() -> AsyncIterator[None]:
    """An overlap the database refused, inside the block, raised as `SlotTaken`."""
    try:
        yield
    except IntegrityError as error:
        if sqlstate(error) == EXCLUSION_VIOLATION:
            raise SlotTaken(TAKEN_MESSAGE) from error
        raise


async def flush_or_taken(session: AsyncSession) -> None:
    async with taken_on_overlap():
        await session.flush()
