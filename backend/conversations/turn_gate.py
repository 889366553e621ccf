"""Whose turn it is in a conversation, decided without asking the database while anyone waits.

In this process, one asyncio lock per conversation: a turn runs alone and the messages behind it
wait on the lock. At most `max_pending` messages of a conversation are unanswered at a time (the
one being answered included); one more is refused at once (RATE_LIMITED, retry in a second)
before any query, so a flood queues nothing and holds no database connection. A conversation found
over its message rate is refused here, without a query, until the rate frees up: the stored count
cannot fall before then, so the answer cannot change.

Across processes the conversation's lease in PostgreSQL still decides (turns.py). The holder of
the lock in this process, finding the lease taken by another process, waits until that process
gives it back — a trigger NOTIFYs `frontdesk_turns` with the conversation's id on commit — or until
the lease runs out (a process that died), whichever comes first. Without a LISTEN connection (it
is down, or a test runs without one) it looks again every second instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from backend.core.errors import RateLimited
from backend.core.listener import PgListener

TURNS_CHANNEL = "frontdesk_turns"
UNHEARD_RECHECK_SECONDS = 1.0
# A refused message may be sent again once the one being answered is (a turn takes well under this).
PENDING_RETRY_SECONDS = 1
# Conversations remembered as over their rate: past this many, those whose time is up are forgotten.
FORGET_OVER_RATE_AT = 1000


class _Line:
    """One conversation's turn in this process: the lock, how many hold or wait for it, and the
    wake-up for a lease given back by another process."""

    __slots__ = ("lock", "pending", "released")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.pending = 0
        self.released = asyncio.Event()


class Turn:
    """This process's turn in a conversation, held: the claim may still find another process's lease."""

    def __init__(self, gate: TurnGate, line: _Line) -> None:
        self._gate = gate
        self._line = line

    def expect_release(self) -> None:
        """Call before looking at the lease, so a release committed after the look is not missed."""
        self._line.released.clear()

    async def wait_for_release(self, seconds: float) -> None:
        """Until the lease is given back elsewhere, or `seconds` (when it runs out) have passed."""
        if not self._gate.listening:
            seconds = min(seconds, UNHEARD_RECHECK_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._line.released.wait(), max(seconds, 0.0))


class TurnGate:
    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self.listening = False
        self._lines: dict[uuid.UUID, _Line] = {}
        # Conversations over their message rate: until when (loop time), and the refusal.
        self._over_rate: dict[uuid.UUID, tuple[float, RateLimited]] = {}

    def hear(self, listener: PgListener) -> None:
        """Be woken by other processes giving a lease back."""
        listener.subscribe(TURNS_CHANNEL, self.released, self.heard)

    def released(self, payload: str) -> None:
        """Another process gave back the lease of the conversation `payload` names."""
        try:
            line = self._lines.get(uuid.UUID(payload))
        except ValueError:
            return
        if line is not None:
            line.released.set()

    def heard(self, listening: bool) -> None:
        """Listening started or stopped: whatever happened meanwhile was not heard, so every waiter
        looks at its lease again."""
        self.listening = listening
        for line in self._lines.values():
            line.released.set()

    @asynccontextmanager
    async def turn(
        self, conversation_id: uuid.UUID, before_waiting: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[Turn]:
        """Hold the conversation's turn in this process. `before_waiting` runs when another message
        of the conversation is being answered, before this one queues behind it (it may refuse).
        A RateLimited with a retry time, raised by it or by the turn, refuses the conversation's
        messages here until then."""
        self.refuse_now(conversation_id)
        line = self._lines.get(conversation_id)
        if line is None:
            line = self._lines[conversation_id] = _Line()
        line.pending += 1
        try:
            if line.lock.locked():
                await before_waiting()
            async with line.lock:
                yield Turn(self, line)
        except RateLimited as refused:
            if refused.retry_after:
                self._over_rate_until(conversation_id, refused)
            raise
        finally:
            line.pending -= 1
            if line.pending == 0:
                del self._lines[conversation_id]

    def refuse_now(self, conversation_id: uuid.UUID) -> None:
        """RateLimited if a message of this conversation cannot be taken now (its queue is full,
        or it is over its rate); asks nothing of the database."""
        line = self._lines.get(conversation_id)
        if line is not None and line.pending >= self.max_pending:
            raise RateLimited.retry_in(
                f"{line.pending} messages of this conversation are still being answered; "
                "send this one again in a moment",
                PENDING_RETRY_SECONDS,
            )
        over = self._over_rate.get(conversation_id)
        if over is None:
            return
        until, refused = over
        left = until - asyncio.get_running_loop().time()
        if left <= 0:
            del self._over_rate[conversation_id]
            return
        raise RateLimited.retry_in(refused.message, left)

    def _over_rate_until(self, conversation_id: uuid.UUID, refused: RateLimited) -> None:
        now = asyncio.get_running_loop().time()
        if len(self._over_rate) >= FORGET_OVER_RATE_AT:
            self._over_rate = {c: over for c, over in self._over_rate.items() if over[0] > now}
        self._over_rate[conversation_id] = (now + (refused.retry_after or 0), refused)
