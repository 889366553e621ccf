"""What a booking's statements cost the Python process before any of our own logic runs: the CPU
of an empty transaction and of one more statement through the session, measured, then multiplied
by the statements a booking sends. The result bounds the in-process booking rate on one core."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event, text

from backend.core.db import UNORDERED, Database

SELECT_ONE = text("SELECT 1")


@dataclass(frozen=True)
class Floor:
    transaction_ms: float
    statement_ms: float
    statements: float

    @property
    def booking_ms(self) -> float:
        return self.transaction_ms + self.statement_ms * self.statements

    def report(self, service_cpu_ms: float, raw_rate: float) -> str:
        best = 1000 / self.booking_ms
        return (
            f"  client CPU floor: a transaction {self.transaction_ms:.2f} ms, a statement "
            f"{self.statement_ms:.2f} ms; a booking sends {self.statements:.1f} statements, so it costs "
            f">= {self.booking_ms:.1f} ms of CPU: at most {best:.0f} bookings/s on one core "
            f"({best / raw_rate:.1%} of the raw baseline).\n"
            f"  measured: {service_cpu_ms:.1f} ms of CPU per booking through the service"
        )


@contextmanager
def counting_statements(db: Database) -> Iterator[list[int]]:
    """Counts the statements sent through `db` inside the block (an executemany counts once)."""
    count = [0]

    def seen(*_: object) -> None:
        count[0] += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)


async def _cpu_ms_per_transaction(db: Database, statements: int, rounds: int) -> float:
    async def work(session) -> None:
        for _ in range(statements):
            await session.execute(SELECT_ONE)

    started = time.process_time()
    for _ in range(rounds):
        await db.transaction(work, isolation="SERIALIZABLE", gate=UNORDERED)
    return (time.process_time() - started) * 1000 / rounds


async def measure(db: Database, statements_per_booking: float, rounds: int = 300) -> Floor:
    """The same transaction a booking runs in (SERIALIZABLE, unordered), empty and with ten `SELECT 1`s."""
    await _cpu_ms_per_transaction(db, 10, 20)  # warm the pool's prepared statements
    empty = await _cpu_ms_per_transaction(db, 0, rounds)
    ten = await _cpu_ms_per_transaction(db, 10, rounds)
    return Floor(
        transaction_ms=empty, statement_ms=max(ten - empty, 0) / 10, statements=statements_per_booking
    )
