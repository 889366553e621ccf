"""The worker's part on Redis: arq runs calendar syncs (every 30 s, and at once when a calendar asks),
one at a time across all workers.

Nothing else in the worker waits for Redis. arq's own loop stops at the first Redis error, so it
runs here inside a loop of ours: on any failure arq's part is torn down and started again after a
back-off (1 s, doubling up to 30 s, back to 1 s once it has run for a minute), and the outage is
logged once. Every Redis call has a timeout, so a frozen Redis is an error, not a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker

from backend.calendars.sync import CalendarSync
from backend.core import metrics
from backend.core.deps import current_time
from backend.core.outages import Outage
from backend.core.settings import Settings

log = logging.getLogger("frontdesk.worker")

BACKOFF_SECONDS = (1.0, 30.0)
# Running this long without an error counts as recovered: the next failure starts the back-off over.
HEALTHY_SECONDS = 60.0


async def sync_calendars(ctx: dict[str, Any]) -> int:
    """Read the connected calendars that are due (or asked for by a push notification)."""
    with metrics.timed(metrics.JOB_LATENCY, job="sync_calendars"):
        return await ctx["calendar_sync"].sync_due(current_time())


class ArqQueue:
    def __init__(self, settings: Settings, calendar_sync: CalendarSync) -> None:
        self.settings = settings
        self.calendar_sync = calendar_sync
        self.pool: ArqRedis | None = None
        self._outage = Outage(log, "arq's part of the worker (Redis)")
        self._requests: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """arq, restarted with back-off whenever Redis fails it; until cancelled."""
        if not self.settings.redis_url:
            return
        delay = BACKOFF_SECONDS[0]
        while True:
            began = time.monotonic()
            try:
                await self._run_arq()
            except Exception as error:  # Redis refused, timed out, or was flushed mid-job
                self._outage.failed(error)
            if time.monotonic() - began >= HEALTHY_SECONDS:
                delay = BACKOFF_SECONDS[0]
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_SECONDS[1])

    async def _run_arq(self) -> None:
        timeout = self.settings.worker_redis_timeout_seconds
        assert self.settings.redis_url is not None
        pool = ArqRedis.from_url(
            self.settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        worker: Worker | None = None
        try:
            await pool.ping()
            worker = Worker(
                functions=[sync_calendars],
                cron_jobs=[
                    # Each run reads only the calendars due; a sync that outlasts the interval is not doubled.
                    cron(sync_calendars, second={0, 30}, run_at_startup=True, unique=True),
                ],
                redis_pool=pool,
                ctx={"calendar_sync": self.calendar_sync},
                handle_signals=False,
                poll_delay=0.05,
                keep_result=0,
                max_jobs=2,
                job_timeout=600,
                # A failed sync is not retried by arq: the connection is still due, and the next run finds it.
                max_tries=1,
            )
            self.pool = pool
            self._outage.recovered()
            await worker.main()
        finally:
            self.pool = None
            if worker is not None:
                await _stop(worker)
            with contextlib.suppress(Exception):
                await pool.aclose()

    def request(self, job: str) -> None:
        """Ask for `job` now; if Redis is away, its cron run does it when Redis is back."""
        if self.pool is None:
            return
        task = asyncio.get_running_loop().create_task(self._enqueue(self.pool, job))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _enqueue(self, pool: ArqRedis, job: str) -> None:
        try:
            await pool.enqueue_job(job)
        except Exception as error:
            log.debug("could not ask for %s now (%s); its next run will do it", job, type(error).__name__)


async def _stop(worker: Worker) -> None:
    """arq's jobs cancelled (each is idempotent: the next run does its work), without touching Redis."""
    tasks = [*worker.tasks.values(), *worker.job_tasks.values()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
