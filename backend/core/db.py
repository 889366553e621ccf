"""Engine, sessions, and the transaction boundary.

Services never commit. The boundary — an HTTP request, a worker job — runs a unit of work through
`Database.transaction`, which commits before the caller answers and re-runs the whole unit when
PostgreSQL reports a serialization failure or a deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from backend.core import log_rows, metrics
from backend.core.errors import BusyRetry
from backend.core.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
Isolation = Literal["READ COMMITTED", "SERIALIZABLE"]

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
RETRYABLE_SQLSTATES = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error raised through SQLAlchemy, if any."""
    if isinstance(error, DBAPIError):
        return getattr(error.orig, "sqlstate", None)
    return None


class TransactionConflict(BusyRetry):
    """The unit of work kept losing serialization races; the caller may retry later."""

    def __init__(self) -> None:
        super().__init__("too many concurrent changes to this calendar; retry the request")


def connect_args(settings: Settings) -> dict[str, Any]:
    if settings.db_pgbouncer:
        # asyncpg's own statement cache and SQLAlchemy's, both off; the timeout goes on the role
        # (ALTER ROLE … SET statement_timeout) since PgBouncer drops startup parameters.
        return {"statement_cache_size": 0, "prepared_statement_cache_size": 0}
    if settings.db_statement_timeout_ms:
        return {"server_settings": {"statement_timeout": str(settings.db_statement_timeout_ms)}}
    return {}


class Database:
    def __init__(self, settings: Settings) -> None:
        self.engine: AsyncEngine = create_async_engine(
            settings.async_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_args=connect_args(settings),
            # Bound parameters carry phone numbers and names; keep them out of exception text and logs.
            hide_parameters=True,
        )
        self._max_attempts = settings.booking_max_attempts

    async def transaction(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        isolation: Isolation = "READ COMMITTED",
        gate: int | None = None,
    ) -> T:
        """Run `work` in one transaction and commit it; re-run it on 40001/40P01.

        `work` must be safe to run again from the start: it gets a fresh session each attempt.
        With `gate`, the transaction begins only once it holds that advisory lock (see `_gated`):
        transactions sharing a gate run one after another on fresh snapshots. `UNORDERED` orders
        nothing and costs no round trip: for work that reads no rows other writers write.
        """
        for attempt in range(1, self._max_attempts + 1):
            try:
                alone = attempt > RUN_ALONE_AFTER_CONFLICTS
                if alone and gate is not None:
                    metrics.TRANSACTIONS_ALONE.inc()
                before_begin = None if gate == UNORDERED and not alone else gate
                async with self.engine.connect() as connection, _gated(connection, before_begin, alone=alone):
                    await connection.execution_options(isolation_level=isolation)
                    async with AsyncSession(
                        bind=connection, expire_on_commit=False, autoflush=False
                    ) as session:
                        if isolation == "SERIALIZABLE":
                            steps_aside = gate == UNORDERED and not alone
                            await session.execute(_UNORDERED_START if steps_aside else _SERIALIZABLE_START)
                        result = await work(session)
                        await session.flush()
                        await log_rows.write_pending(session)
                        await session.commit()
                        return result
            except DBAPIError as error:
                code = sqlstate(error)
                if code not in RETRYABLE_SQLSTATES:
                    raise
                metrics.TRANSACTION_RETRIES.labels(code).inc()
                if attempt == self._max_attempts:
                    raise TransactionConflict() from error
                await asyncio.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        await self.engine.dispose()


# Gated transactions hold this lock shared; one that keeps losing serialization races takes it
# exclusively and so runs with no other gated transaction beside it: it cannot lose again.
GLOBAL_GATE = 0x46_44_47_41_54_45  # "FDGATE"
RUN_ALONE_AFTER_CONFLICTS = 2
# The gate of transactions that need no order among themselves: they hold the global gate shared,
# for the transaction only, so one running alone still runs alone.
UNORDERED = GLOBAL_GATE

# A sequential scan takes a relation-wide predicate lock, so any concurrent write to that table
# would abort us; index scans lock only what they read.
_SERIALIZABLE_START = text("SELECT set_config('enable_seqscan', 'off', true)")
_UNORDERED_START = text(
    "SELECT set_config('enable_seqscan', 'off', true), pg_advisory_xact_lock_shared(:gate)"
).bindparams(gate=GLOBAL_GATE)


@asynccontextmanager
async def _gated(connection: AsyncConnection, gate: int | None, *, alone: bool) -> AsyncIterator[None]:
    """Hold session-level advisory locks around the transaction that follows.

    A SERIALIZABLE snapshot is taken when the first statement starts, so a lock taken inside the
    transaction leaves a waiter with a snapshot from before the holder committed: it then reads
    stale rows and is aborted. Taking the locks before BEGIN gives every waiter a fresh snapshot.
    """
    if gate is None:
        yield
        return
    if alone:
        acquire = "SELECT pg_advisory_lock(:global_gate)"
        release = "SELECT pg_advisory_unlock(:global_gate)"
    else:
        acquire = "SELECT pg_advisory_lock_shared(:global_gate), pg_advisory_lock(:gate)"
        release = "SELECT pg_advisory_unlock(:gate), pg_advisory_unlock_shared(:global_gate)"
    keys = {"global_gate": GLOBAL_GATE, "gate": gate}
    await connection.execution_options(isolation_level="AUTOCOMMIT")
    await connection.execute(text(acquire), keys)
    await connection.commit()
    try:
        yield
    finally:
        try:
            await connection.rollback()
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(release), keys)
            await connection.commit()
        except BaseException:
            # Closing the connection is the one sure way to drop session locks.
            await connection.invalidate()
            raise


def _backoff(attempt: int) -> float:
    """Full jitter: a random wait up to an exponentially growing cap (5 ms, 10 ms, … 320 ms)."""
    cap = min(0.005 * 2 ** (attempt - 1), 0.32)
    return random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography
