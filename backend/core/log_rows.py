"""Rows appended to the audit log and the event log, written together just before commit.

Nothing reads these rows back in the transaction that writes them, so they skip the ORM's unit of
work (an INSERT … RETURNING per table, and its bookkeeping per object): each table's rows go as one
plain INSERT with the rows as parameters, from a statement compiled once. A transaction that fails
drops its session, and these rows with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Insert, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

_PENDING = "frontdesk.log_rows"
_INSERTS: dict[Table, Insert] = {}


def append(session: AsyncSession, table: Table, row: dict[str, Any]) -> None:
    """Queue `row` for `table`; every row of a table must have the same keys."""
    session.info.setdefault(_PENDING, {}).setdefault(table, []).append(row)


async def write_pending(session: AsyncSession) -> None:
    pending: dict[Table, list[dict[str, Any]]] = session.info.pop(_PENDING, {})
    for table, rows in pending.items():
        statement = _INSERTS.get(table)
        if statement is None:
            statement = _INSERTS[table] = insert(table)
        await session.execute(statement, rows)


@asynccontextmanager
async def savepoint(session: AsyncSession) -> AsyncIterator[None]:
    """A SAVEPOINT around the block: when it raises, what it wrote and the log rows it queued are
    undone together, and the transaction goes on (one bad row of an import, not the whole chunk)."""
    marks = {table: len(rows) for table, rows in session.info.get(_PENDING, {}).items()}
    try:
        async with session.begin_nested():
            yield
    except BaseException:
        for table, rows in session.info.get(_PENDING, {}).items():
            del rows[marks.get(table, 0) :]
        raise
