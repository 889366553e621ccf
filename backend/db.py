"""Engine, sessions, and the transaction boundary.

Services never commit. The boundary — an HTTP request, a worker job — runs a unit of work through
`Database.transaction`, which commits before the caller answers and re-runs the whole unit when
PostgreSQL reports a serialization failure or a deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from backend.errors import BusyRetry
from backend.settings import Settings

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


def constraint_name(error: BaseException) -> str | None:
    if not isinstance(error, DBAPIError):
        return None
    # asyncpg's exception carries the constraint that fired; SQLAlchemy wraps it in `orig.__cause__`.
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None)


class TransactionConflict(BusyRetry):
    """The unit of work kept losing serialization races; the caller may retry later."""

    def __init__(self) -> None:
        super().__init__("too many concurrent changes to this calendar; retry the request")


class Database:
    def __init__(self, settings: Settings) -> None:
        self.engine: AsyncEngine = create_async_engine(
            settings.async_database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=False,
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._max_attempts = settings.booking_max_attempts

    async def transaction(
        self,
        work: Callable[[AsyncSession], Awaitable[T]],
        *,
        isolation: Isolation = "READ COMMITTED",
    ) -> T:
        """Run `work` in one transaction and commit it; re-run it on 40001/40P01.

        `work` must be safe to run again from the start: it gets a fresh session each attempt.
        """
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self.sessions() as session:
                    await session.connection(execution_options={"isolation_level": isolation})
                    result = await work(session)
                    await session.commit()
                    return result
            except DBAPIError as error:
                if sqlstate(error) not in RETRYABLE_SQLSTATES:
                    raise
                if attempt == self._max_attempts:
                    raise TransactionConflict() from error
                await asyncio.sleep(_backoff(attempt))
        raise AssertionError("unreachable")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _backoff(attempt: int) -> float:
    """Full jitter: a random wait up to an exponentially growing cap (5 ms, 10 ms, … 320 ms)."""
    cap = min(0.005 * 2 ** (attempt - 1), 0.32)
    return random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography
