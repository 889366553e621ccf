"""The webhook pump: in each worker process, fans events out to endpoints and delivers them.

Woken by a NOTIFY when events or deliveries are committed (and every sweep interval regardless),
it queues what the endpoints want, claims what is due up to its free slots, and sends each request
in a task of its own; answers are recorded together on the next turn. A slow receiver holds only
its own slots, never the loop. All state is in PostgreSQL: any number of workers run pumps side by
side, and one that dies leaves leased rows another reclaims.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import Database
from backend.core.deps import current_time
from backend.core.settings import Settings
from backend.events import deliveries, fanout
from backend.events.deliveries import Claimed
from backend.events.sender import Answer, WebhookSender

log = logging.getLogger("frontdesk.webhooks")

COALESCE_SECONDS = 0.005


class WebhookPump:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        sender: WebhookSender | None = None,
        clock: Callable[[], datetime] = current_time,
    ) -> None:
        self.db = db
        self.settings = settings
        self.sender = sender or WebhookSender(settings)
        self.clock = clock
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._answered: list[tuple[Claimed, Answer]] = []
        self._unread = True

    # ---- one pass at a time: tests, the bench, and a clock under control ----

    async def run_once(self, now: datetime | None = None) -> int:
        """Fan out, send every due delivery, record the answers; how many were sent."""
        now = now or self.clock()
        await self._fan_out(now)
        claimed = await self._claim(now, self.settings.webhook_concurrency)
        if not claimed:
            return 0
        answers = await asyncio.gather(*(self._send_one(item) for item in claimed))
        await self._record(list(zip(claimed, answers, strict=True)), now)
        return len(claimed)

    async def drain(self, now: datetime | None = None) -> int:
        total = 0
        while sent := await self.run_once(now):
            total += sent
        return total

    # ---- the worker's loop ----

    def nudge(self, table: str = "domain_events") -> None:
        """A commit touched `table`: new events to fan out, or deliveries to claim."""
        if table == "domain_events":
            self._unread = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.worker_sweep_seconds)
            if not self._wake.is_set():
                self._unread = True  # the sweep: whatever a lost nudge left behind
            elif self._in_flight:
                # Answers come in one by one; a moment's wait records many in one transaction.
                await asyncio.sleep(COALESCE_SECONDS)
            self._wake.clear()
            try:
                await self._turn(self.clock())
            except Exception:  # the database is away, say: keep the loop, try again shortly
                log.exception("webhook pump turn failed")
                await asyncio.sleep(1)

    async def _turn(self, now: datetime) -> None:
        if self._answered:
            answered, self._answered = self._answered, []
            try:
                await self._record(answered, now)
            except Exception:
                self._answered = answered + self._answered  # kept for the next turn
                raise
        if self._unread:
            self._unread = False
            if await self._fan_out(now):
                self._unread = True  # there may be more than one pass took
        for claimed in await self._claim(now, self.settings.webhook_concurrency - len(self._in_flight)):
            task = asyncio.create_task(self._send_and_report(claimed))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send_and_report(self, claimed: Claimed) -> None:
        answer = await self._send_one(claimed)
        # Only now: the list is swapped out while answers are being recorded.
        self._answered.append((claimed, answer))
        self._wake.set()

    async def close(self) -> None:
        """Let requests in flight finish (within the timeout) and record them."""
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self.settings.webhook_timeout_seconds + 1)
        if self._answered:
            await self._record(self._answered, self.clock())
            self._answered = []
        await self.sender.close()

    # ---- the steps ----

    async def _fan_out(self, now: datetime) -> int:
        return await self.db.transaction(lambda session: fanout.fan_out(session, now))

    async def _claim(self, now: datetime, limit: int) -> list[Claimed]:
        async def claim(session: AsyncSession) -> list[Claimed]:
            return await deliveries.claim(session, self.settings, now, limit)

        return await self.db.transaction(claim)

    async def _send_one(self, claimed: Claimed) -> Answer:
        try:
            return await self.sender.send(claimed.request)
        except Exception as error:  # a bug must not strand the row in `sending`
            log.exception("webhook delivery %s raised", claimed.id)
            return Answer(error=f"unexpected {type(error).__name__}")

    async def _record(self, answered: list[tuple[Claimed, Answer]], now: datetime) -> None:
        await self.db.transaction(lambda session: deliveries.record(session, self.settings, answered, now))
