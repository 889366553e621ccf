"""`frontdesk worker`: the arq worker that answers inbound texts, runs scheduled actions, drains
the outbox, writes bookings to providers' calendars, reads those calendars' busy time
(`sync_calendars`, every 30 s, and at once when asked), and runs the webhook pump.

PostgreSQL holds all the work. A trigger NOTIFYs `frontdesk_work` with the table's name when inbound
texts, outbox rows, actions or calendar pushes are committed; the worker LISTENs and wakes that
queue's loop (`NudgedLoop`), so a confirmation leaves within moments of the booking. A cron sweep
every few seconds runs every queue and expires lapsed holds, so a lost nudge (a dropped LISTEN
connection, a worker restarted) delays work by one sweep at most, and loses nothing. A calendar
asked to sync goes through arq, which runs one sync at a time across workers. Webhooks have a
channel of their own (`frontdesk_events`) that wakes the pump (backend/events/pump.py), which runs
beside the jobs for the worker's life.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import prometheus_client
import socketio
from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from backend import tables  # noqa: F401  (every table known before the first query)
from backend.calendars.push import CalendarPusher
from backend.calendars.sync import CalendarSync
from backend.conversations import lapses
from backend.conversations.live import Unwatched
from backend.conversations.receptionist import build_turns
from backend.core import events, metrics
from backend.core.db import Database
from backend.core.settings import Settings
from backend.events import deliveries
from backend.events.pump import WebhookPump
from backend.messaging.actions import ActionRunner, sweep_lapsed_holds
from backend.messaging.dispatcher import Dispatcher
from backend.messaging.senders import Sender
from backend.messaging.senders.log import LogSender
from backend.messaging.senders.smtp import SmtpSender
from backend.messaging.senders.twilio_sms import TwilioSender
from backend.telephony.sms_inbox import SmsInbox
from backend.webchat.live import SocketLive

log = logging.getLogger("frontdesk.worker")

NUDGE_CHANNEL = "frontdesk_work"
EVENTS_CHANNEL = "frontdesk_events"
STATUS_CALLBACK_PATH = "/twilio/sms/status"
# One job sends at most this many batches, then leaves the rest to the next nudge or sweep, so a
# flood never pins a job past arq's timeout.
BATCHES_PER_JOB = 200


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


async def process(ctx: dict[str, Any]) -> int:
    """Answer waiting texts, run the due actions, write calendar pushes, then send what is due.
    Idempotent: safe to run twice, or everywhere."""
    await answer_texts(ctx)
    await ctx["runner"].run_due(_now())
    await ctx["calendar_pusher"].push_due(_now())
    return await send_due(ctx)


async def answer_texts(ctx: dict[str, Any]) -> None:
    # Each batch's replies go out before the next batch is answered: under a steady stream of
    # texts the inbox is never empty, and replies must not wait for it to be.
    while await ctx["inbox"].process_due(_now()):
        await send_due(ctx)


async def send_due(ctx: dict[str, Any]) -> int:
    dispatcher: Dispatcher = ctx["dispatcher"]
    return await dispatcher.drain(max_batches=BATCHES_PER_JOB)


class NudgedLoop:
    """One queue's work, done in this process whenever a commit nudges it.

    A nudge that arrives while a round runs makes one more round (the wake-up is cleared before
    the queue is read, so none is lost), and many nudges in the meantime make only that one: under
    load the rounds grow instead of multiplying. The sweep still runs everything every few seconds.
    """

    def __init__(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self._work = work
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._work()
            except Exception:  # the database is away, say: keep the loop; the sweep retries too
                log.exception("%s failed; the next nudge or sweep tries again", self.name)
                await asyncio.sleep(1)


def nudged_loops(ctx: dict[str, Any]) -> dict[str, NudgedLoop]:
    """The loop each nudging table wakes (its trigger sends the table's name)."""
    return {
        "inbound_sms": NudgedLoop("answering texts", lambda: answer_texts(ctx)),
        "notification_outbox": NudgedLoop("sending", lambda: send_due(ctx)),
        "scheduled_actions": NudgedLoop("scheduled actions", lambda: ctx["runner"].run_due(_now())),
        "calendar_pushes": NudgedLoop("calendar pushes", lambda: ctx["calendar_pusher"].push_due(_now())),
    }


async def sync_calendars(ctx: dict[str, Any]) -> int:
    """Read the connected calendars that are due (or asked for by a push notification)."""
    with metrics.timed(metrics.JOB_LATENCY, job="sync_calendars"):
        return await ctx["calendar_sync"].sync_due(_now())


async def sweep(ctx: dict[str, Any]) -> int:
    with metrics.timed(metrics.JOB_LATENCY, job="sweep"):
        lapsed = await sweep_lapsed_holds(ctx["db"], _now())
        await lapses.tell_chats(ctx["db"], ctx["live"], lapsed)
        await _forget_old_events(ctx["db"], ctx["settings"])
        await _ensure_listening(ctx)
        return await process(ctx)


async def _forget_old_events(db: Database, settings: Settings) -> None:
    cutoff = _now() - timedelta(days=settings.event_retention_days)
    purged = await db.transaction(lambda session: events.purge(session, cutoff))
    await db.transaction(lambda session: deliveries.purge_pings(session, cutoff))
    if purged:
        log.info("forgot %d events older than %d days", purged, settings.event_retention_days)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    if settings.worker_metrics_port:
        prometheus_client.start_http_server(settings.worker_metrics_port, addr=settings.host)
    ctx["db"] = Database(settings)
    ctx["runner"] = ActionRunner(ctx["db"], settings)
    # Write-only: the worker pushes to browsers through Redis, it holds no connections itself.
    live = (
        SocketLive(socketio.AsyncRedisManager(settings.redis_url, write_only=True))
        if settings.redis_url
        else None
    )
    ctx["live"] = live or Unwatched()
    ctx["inbox"] = SmsInbox(ctx["db"], settings, build_turns(ctx["db"], settings, live))
    ctx["dispatcher"] = Dispatcher(ctx["db"], settings, build_senders(settings))
    ctx["calendar_pusher"] = CalendarPusher(ctx["db"], settings)
    ctx["calendar_sync"] = CalendarSync(ctx["db"], settings)
    ctx["pump"] = WebhookPump(ctx["db"], settings)
    ctx["pump_task"] = asyncio.create_task(ctx["pump"].run())
    ctx["loops"] = nudged_loops(ctx)
    ctx["loop_tasks"] = [asyncio.create_task(loop.run()) for loop in ctx["loops"].values()]
    ctx["listener"] = None
    ctx["nudges"] = set()
    await _ensure_listening(ctx)
    log.info(
        "worker ready: sms via %s, e-mail via %s, sweep every %ss",
        settings.sms_provider,
        settings.email_provider,
        settings.worker_sweep_seconds,
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    listener: asyncpg.Connection | None = ctx.get("listener")
    if listener is not None:
        await listener.close()
    ctx["pump_task"].cancel()
    for task in ctx["loop_tasks"]:
        task.cancel()
    await ctx["pump"].close()
    await ctx["dispatcher"].close()
    await ctx["db"].dispose()


async def _ensure_listening(ctx: dict[str, Any]) -> None:
    """(Re)open the LISTEN connection; the sweep calls this, so a dropped connection comes back."""
    listener: asyncpg.Connection | None = ctx.get("listener")
    if listener is not None and not listener.is_closed():
        return
    settings: Settings = ctx["settings"]
    assert settings.database_url is not None
    url = settings.async_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        listener = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as error:
        log.warning("cannot LISTEN for nudges (%s); relying on the sweep", type(error).__name__)
        return

    def nudged(_connection: object, _pid: int, _channel: str, table: str) -> None:
        loops: dict[str, NudgedLoop] = ctx["loops"]
        if table in loops:
            loops[table].nudge()
            return
        # Calendar syncs go through arq, which keeps one running across all workers.
        task = asyncio.get_running_loop().create_task(_enqueue(ctx, "sync_calendars"))
        ctx["nudges"].add(task)
        task.add_done_callback(ctx["nudges"].discard)

    await listener.add_listener(NUDGE_CHANNEL, nudged)
    await listener.add_listener(EVENTS_CHANNEL, lambda _c, _p, _ch, table: ctx["pump"].nudge(table))
    ctx["listener"] = listener


async def _enqueue(ctx: dict[str, Any], job: str) -> None:
    try:
        await ctx["redis"].enqueue_job(job)
    except Exception:  # Redis down: the sweep will do the work
        log.warning("could not enqueue a nudge; the sweep will pick the work up", exc_info=True)


def create_worker(settings: Settings) -> Worker:
    assert settings.redis_url is not None
    every = settings.worker_sweep_seconds
    return Worker(
        functions=[sync_calendars],
        cron_jobs=[
            cron(sweep, second=set(range(0, 60, every)), run_at_startup=True, unique=False),
            # Each run reads only the calendars due; a sync that outlasts the interval is not doubled.
            cron(sync_calendars, second={0, 30}, run_at_startup=True, unique=True),
        ],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        ctx={"settings": settings},
        on_startup=startup,
        on_shutdown=shutdown,
        poll_delay=0.05,
        keep_result=0,
        max_jobs=4,
        job_timeout=600,
        # A failed job is not retried by arq: the rows it left are due, and the sweep finds them.
        max_tries=1,
    )


async def run(settings: Settings) -> None:
    worker = create_worker(settings)
    try:
        # async_run, not main: arq's SIGTERM handler cancels the task async_run creates.
        await worker.async_run()
    except asyncio.CancelledError:
        log.info("worker stopped")
    finally:
        await worker.close()
