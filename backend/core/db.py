"""Engine, sessions, and the transaction boundary.

Services never commit. The boundary — an HTTP request, a worker job — runs a unit of work through
`Database.transaction`, which commits before the caller answers and re-runs the whole unit when
PostgreSQL reports a serialization failure or a deadlock.

When PostgreSQL cannot be reached, or a connection breaks, the unit is run once more on a fresh
connection (a pooled connection left over from before a restart breaks at its first statement);
if that fails too, `DatabaseUnavailable` (503, retryable). A connection that breaks during COMMIT
leaves the outcome unknown: `OutcomeUnknown`, which never claims that nothing was saved.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from backend.core import log_rows, metrics
from backend.core.errors import BusyRetry, DatabaseUnavailable, OutcomeUnknown
from backend.core.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
Isolation = Literal["READ COMMITTED", "SERIALIZABLE"]

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
RETRYABLE_SQLSTATES = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})
# Class 08: connection exceptions; 57P01-57P03: the server is shutting down, crashed or starting
# up; 53300: too many connections.
CONNECTION_SQLSTATES = ("08", "57P", "53300")
# What a client is told to wait before retrying while PostgreSQL is away (a restart takes seconds).
RETRY_AFTER_SECONDS = 3


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error raised through SQLAlchemy, if any."""
    if isinstance(error, DBAPIError):
        return getattr(error.orig, "sqlstate", None)
    return None


def connection_failure(error: BaseException) -> bool:
    """PostgreSQL unreachable (refused, no route, connect timeout), shutting down or starting up,
    out of connections, or the connection broke: nothing about the statement itself."""
    if isinstance(error, OSError):  # TimeoutError and ConnectionError are OSErrors too
        return True
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or (sqlstate(error) or "").startswith(CONNECTION_SQLSTATES)
    if isinstance(error, asyncpg.PostgresError):  # raised by asyncpg while connecting, unwrapped
        return (error.sqlstate or "").startswith(CONNECTION_SQLSTATES)
    return False


def unavailable(error: BaseException) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"the database is unavailable ({type(error).__name__}); retry in {RETRY_AFTER_SECONDS} s",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def outcome_unknown(error: BaseException) -> OutcomeUnknown:
    return OutcomeUnknown(
        "unknown outcome: the connection to the database broke while this change was being committed, "
        "so it may or may not have been saved. Retry with the same Idempotency-Key: a saved change is "
        "replayed, not made twice.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class TransactionConflict(BusyRetry):
    """The unit of work kept losing serialization races; the caller may retry later."""

    def __init__(self) -> None:
        super().__init__("too many concurrent changes to this calendar; retry the request")


class LockHeld(Exception):
    """The `exclusive` lock of a transaction is held by another session (see `Database.transaction`)."""


def connect_args(settings: Settings) -> dict[str, Any]:
    # asyncpg's connect timeout: an unreachable server answers 503 in seconds, not after a minute.
    args: dict[str, Any] = {"timeout": settings.db_connect_timeout_seconds}
    if settings.db_pgbouncer:
        # asyncpg's own statement cache and SQLAlchemy's, both off; the timeout goes on the role
        # (ALTER ROLE … SET statement_timeout) since PgBouncer drops startup parameters.
        return {**args, "statement_cache_size": 0, "prepared_statement_cache_size": 0}
    if settings.db_statement_timeout_ms:
        return {**args, "server_settings": {"statement_timeout": str(settings.db_statement_timeout_ms)}}
    return args


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
        exclusive: int | None = None,
    ) -> T:
        """Run `work` in one transaction and commit it; re-run it on 40001/40P01, and once on a
        broken connection (see the module's note).

        `work` must be safe to run again from the start: it gets a fresh session each attempt.
        With `gate`, the transaction begins only once it holds that advisory lock (see `_locked`):
        transactions sharing a gate run one after another on fresh snapshots. `UNORDERED` orders
        nothing and costs no round trip: for work that reads no rows other writers write.
        With `exclusive`, the transaction runs only if this session can take that advisory lock at
        once (else `LockHeld`): held until the transaction ends, or until the process holding it
        dies and PostgreSQL closes its session.
        """
        reconnected = False
        attempt = 1
        while True:
            committing = committed = False
            try:
                alone = attempt > RUN_ALONE_AFTER_CONFLICTS
                if alone and gate is not None:
                    metrics.TRANSACTIONS_ALONE.inc()
                before_begin = None if gate == UNORDERED and not alone else gate
                async with (
                    self.engine.connect() as connection,
                    _locked(connection, before_begin, alone=alone, exclusive=exclusive),
                ):
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
                        committing = True
                        await session.commit()
                        committed = True
                return result
            except Exception as error:
                if committed and connection_failure(error):
                    # Only giving the session locks back failed; closing the connection dropped them.
                    log.warning("connection lost after COMMIT (%s); the work was saved", type(error).__name__)
                    return result
                if connection_failure(error):
                    if committing:
                        raise outcome_unknown(error) from error
                    if reconnected:
                        raise unavailable(error) from error
                    reconnected = True
                    continue
                code = sqlstate(error)
                if code not in RETRYABLE_SQLSTATES:
                    raise
                metrics.TRANSACTION_RETRIES.labels(code).inc()
                if attempt == self._max_attempts:
                    raise TransactionConflict() from error
                attempt += 1
                await asyncio.sleep(_backoff(attempt - 1))

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


_TRY_EXCLUSIVE = text("SELECT pg_try_advisory_lock(:exclusive)")


@asynccontextmanager
async def _locked(
    connection: AsyncConnection, gate: int | None, *, alone: bool, exclusive: int | None
) -> AsyncIterator[None]:
    """Hold session-level advisory locks around the transaction that follows: `exclusive` without
    waiting (LockHeld if another session has it), then the gate.

    A SERIALIZABLE snapshot is taken when the first statement starts, so a lock taken inside the
    transaction leaves a waiter with a snapshot from before the holder committed: it then reads
    stale rows and is aborted. Taking the locks before BEGIN gives every waiter a fresh snapshot.
    """
    if gate is None and exclusive is None:
        yield
        return
    await connection.execution_options(isolation_level="AUTOCOMMIT")
    if exclusive is not None and not await connection.scalar(_TRY_EXCLUSIVE, {"exclusive": exclusive}):
        raise LockHeld()
    keys = {"global_gate": GLOBAL_GATE, "gate": gate, "exclusive": exclusive}
    releases = ["pg_advisory_unlock(:exclusive)"] if exclusive is not None else []
    try:
        if gate is not None:
            if alone:
                acquire = "SELECT pg_advisory_lock(:global_gate)"
                releases.insert(0, "pg_advisory_unlock(:global_gate)")
            else:
                acquire = "SELECT pg_advisory_lock_shared(:global_gate), pg_advisory_lock(:gate)"
                releases[:0] = ["pg_advisory_unlock(:gate)", "pg_advisory_unlock_shared(:global_gate)"]
            await connection.execute(text(acquire), keys)
        await connection.commit()
        yield
    finally:
        try:
            await connection.rollback()
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("SELECT " + ", ".join(releases)), keys)
            await connection.commit()
        except BaseException:
            # Closing the connection is the one sure way to drop session locks.
            await connection.invalidate()
            raise


def _backoff(attempt: int) -> float:
    """Full jitter: a random wait up to an exponentially growing cap (5 ms, 10 ms, … 320 ms)."""
    cap = min(0.005 * 2 ** (attempt - 1), 0.32)
    return random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography
