"""One worker process: its parts, the loops that run them, the sweep, and a clean stop.

Every loop survives what it depends on failing: a loop whose round raises (the database is away)
logs the outage once and tries again on the next nudge or sweep; the dispatcher keeps the answers
it could not record and writes them once PostgreSQL is back. SIGTERM lets sends and webhook
requests in flight finish and be recorded before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import prometheus_client
import socketio

from backend import tables  # noqa: F401  (every table known before the first query)
from backend.calendars.push import CalendarPusher
from backend.calendars.sync import CalendarSync
from backend.conversations import lapses
from backend.conversations.live import Unwatched
from backend.conversations.receptionist import build_turns
from backend.conversations.turn_gate import TURNS_CHANNEL
from backend.core import events, metrics
from backend.core.db import Database
from backend.core.outages import Outage
from backend.core.settings import Settings
from backend.events import deliveries
from backend.events.pump import WebhookPump
from backend.messaging import outbox_alerts, outbox_health
from backend.messaging.actions import ActionRunner, sweep_lapsed_holds
from backend.messaging.dispatcher import Dispatcher
from backend.messaging.senders import Sender
from backend.messaging.senders.log import LogSender
from backend.messaging.senders.smtp import SmtpSender
from backend.messaging.senders.twilio_sms import TwilioSender
from backend.messaging.template_processes import RenderLimits, TemplateProcesses
from backend.messaging.tenant_wording import TenantWording
from backend.retention import purge as retention
from backend.telephony.sms_inbox import SmsInbox
from backend.tenants import sign_in_guard
from backend.webchat.live import SocketLive
from backend.webchat.presence import StaffPresence
from backend.worker.queue import ArqQueue

log = logging.getLogger("frontdesk.worker")

NUDGE_CHANNEL = "frontdesk_work"
EVENTS_CHANNEL = "frontdesk_events"
STATUS_CALLBACK_PATH = "/twilio/sms/status"


def build_senders(settings: Settings) -> dict[str, Sender]:
    sms: Sender
    if settings.sms_provider == "twilio":
        sms = TwilioSender(settings, settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH)
    else:
        sms = LogSender()
    email: Sender = SmtpSender(settings) if settings.email_provider == "smtp" else LogSender()
    return {"sms": sms, "email": email}


def _now() -> datetime:
    return datetime.now(UTC)


class NudgedLoop:
    """One queue's work, done in this process whenever a commit (or the sweep) nudges it.

    A nudge that arrives while a round runs makes one more round (the wake-up is cleared before
    the queue is read, so none is lost), and many nudges in the meantime make only that one: under
    load the rounds grow instead of multiplying.
    """

    def __init__(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        self._work = work
        self._wake = asyncio.Event()
        self._outage = Outage(log, name)

    def nudge(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._work()
            except Exception as error:  # the database is away, say: the next nudge or sweep tries again
                self._outage.failed(error)
                await asyncio.sleep(1)
            else:
                self._outage.recovered()


class WorkerProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:100]
        self.started_at = _now()
        self.db = Database(settings)
        self.dispatcher = Dispatcher(self.db, settings, build_senders(settings))
        # Which clinics have staff online (Redis), so a texting patient is told the truth.
        self.presence = StaffPresence(settings.redis_url)
        live = _live(settings, self.presence)
        # A hold that lapsed is said in the web chat at once (the chat's browser is told through Redis).
        self.live = live or Unwatched()
        self.inbox = SmsInbox(self.db, settings, build_turns(self.db, settings, live))
        self.runner = ActionRunner(self.db, settings)
        self.calendar_pusher = CalendarPusher(self.db, settings)
        self.pump = WebhookPump(self.db, settings)
        self.template_processes = TemplateProcesses(RenderLimits.of(settings))
        self.wording = TenantWording(self.db, self.template_processes)
        self.queue = ArqQueue(settings, CalendarSync(self.db, settings))
        self.loops = {
            "inbound_sms": NudgedLoop("answering texts", self._answer_texts),
            "scheduled_actions": NudgedLoop("scheduled actions", lambda: self.runner.run_due(_now())),
            "calendar_pushes": NudgedLoop("calendar pushes", lambda: self.calendar_pusher.push_due(_now())),
            # Outbox rows waiting for their tenant's wording (`tenant_wording.py`).
            "outbox_rendering": NudgedLoop("rewording messages", self._reword),
        }
        self._listener: asyncpg.Connection | None = None
        self._sweep_outage = Outage(log, "the worker's sweep")
        self._retention_outage = Outage(log, "the nightly retention purge")

    async def run(self) -> None:
        """Every loop, until cancelled."""
        log.info(
            "worker ready: sms via %s, e-mail via %s, sweep every %ss",
            self.settings.sms_provider,
            self.settings.email_provider,
            self.settings.worker_sweep_seconds,
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(self.dispatcher.run())
            group.create_task(self.pump.run())
            for loop in self.loops.values():
                group.create_task(loop.run())
            group.create_task(self._sweep_forever())
            group.create_task(self._purge_nightly())
            group.create_task(self.queue.run())

    async def _answer_texts(self) -> None:
        # The replies of each batch go out while the next batch is answered: under a steady stream
        # of texts the inbox is never empty, and replies must not wait for it to be.
        while await self.inbox.process_due(_now()):
            self.dispatcher.nudge()

    async def _reword(self) -> None:
        """Put queued messages in their tenant's own wording (in a template process); those done
        are `pending` now, so the dispatcher is woken (an UPDATE sends no insert nudge)."""
        if await self.wording.render_due(_now()):
            self.dispatcher.nudge()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                with metrics.timed(metrics.JOB_LATENCY, job="sweep"):
                    await self.sweep()
            except Exception as error:
                self._sweep_outage.failed(error)
            else:
                self._sweep_outage.recovered()
            await asyncio.sleep(self.settings.worker_sweep_seconds)

    async def _purge_nightly(self) -> None:
        """Each clinic's retention purge, once a night on its own clock (`backend/retention/`)."""
        while True:
            try:
                with metrics.timed(metrics.JOB_LATENCY, job="retention"):
                    await retention.run_due(self.db, self.settings, _now())
            except Exception as error:
                self._retention_outage.failed(error)
            else:
                self._retention_outage.recovered()
            await asyncio.sleep(self.settings.retention_check_seconds)

    async def sweep(self) -> None:
        """Wake every queue (a lost nudge costs one sweep), and the chores nobody nudges for."""
        self.dispatcher.nudge()
        for loop in self.loops.values():
            loop.nudge()
        await self._ensure_listening()
        now = _now()
        # First: a heartbeat says this process's loop turns, whatever the chores below meet.
        await self.db.transaction(
            lambda session: outbox_health.beat(session, self.name, self.started_at, now)
        )
        lapsed = await sweep_lapsed_holds(self.db, now)
        await lapses.tell_chats(self.db, self.live, lapsed)
        await self._forget_old_events(now)
        await self.db.transaction(lambda session: sign_in_guard.purge(session, self.settings, now))
        await outbox_alerts.check(self.db, self.settings, now)

    async def _forget_old_events(self, now: datetime) -> None:
        cutoff = now - timedelta(days=self.settings.event_retention_days)
        purged = await self.db.transaction(lambda session: events.purge(session, cutoff))
        await self.db.transaction(lambda session: deliveries.purge_pings(session, cutoff))
        if purged:
            log.info("forgot %d events older than %d days", purged, self.settings.event_retention_days)

    async def _ensure_listening(self) -> None:
        """(Re)open the LISTEN connection; the sweep calls this, so a dropped connection comes back."""
        if self._listener is not None and not self._listener.is_closed():
            return
        url = self.settings.async_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        try:
            listener = await asyncpg.connect(url, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            log.debug("cannot LISTEN for nudges (%s); relying on the sweep", type(error).__name__)
            return

        def nudged(_connection: object, _pid: int, _channel: str, table: str) -> None:
            if table == "notification_outbox":
                self.dispatcher.nudge()
            elif table in self.loops:
                self.loops[table].nudge()
            else:  # calendar syncs go through arq, which keeps one running across all workers
                self.queue.request("sync_calendars")

        await listener.add_listener(NUDGE_CHANNEL, nudged)
        await listener.add_listener(EVENTS_CHANNEL, lambda _c, _p, _ch, table: self.pump.nudge(table))
        # A text's turn waiting for another process's lease is woken when it is given back.
        gate = self.inbox.turns.gate
        await listener.add_listener(TURNS_CHANNEL, lambda _c, _p, _ch, payload: gate.released(payload))
        listener.add_termination_listener(lambda _c: gate.heard(False))
        gate.heard(True)
        self._listener = listener

    async def close(self) -> None:
        """Sends and webhook requests in flight finish and are recorded; then the connections close."""
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        await self.pump.close()
        await self.dispatcher.close()
        await self.template_processes.close()
        await self.presence.close()
        await self.db.dispose()


# How long a stopping worker gives sends in flight and their recording (a supervisor's SIGKILL
# usually follows SIGTERM after 10 to 30 seconds).
SHUTDOWN_SECONDS = 10.0


def _live(settings: Settings, presence: StaffPresence) -> SocketLive | None:
    """Write-only: the worker pushes to browsers through Redis, it holds no connections itself. A
    push waits for Redis at most the timeout: a live update is a courtesy, the stored reply counts."""
    if not settings.redis_url:
        return None
    timeout = settings.worker_redis_timeout_seconds
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    return SocketLive(
        socketio.AsyncRedisManager(settings.redis_url, write_only=True, redis_options=options), presence
    )


async def run(settings: Settings) -> None:
    """The process until SIGTERM or SIGINT, then a clean stop."""
    if settings.worker_metrics_port:
        prometheus_client.start_http_server(settings.worker_metrics_port, addr=settings.host)
    worker = WorkerProcess(settings)
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main.cancel)
    try:
        await worker.run()
    except asyncio.CancelledError:
        log.info("worker stopping")
    finally:
        # A stop must not wait on a database that refuses connections: what is still unrecorded
        # after this is reconciled with the provider by the next worker, never sent twice.
        try:
            await asyncio.wait_for(worker.close(), timeout=SHUTDOWN_SECONDS)
            log.info("worker stopped")
        except TimeoutError:
            log.warning("worker stopped before its last answers were recorded; they will be reconciled")
