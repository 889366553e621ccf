"""The outbox dispatcher: keep every send slot busy with due rows, record each answer at once.

Claimers and a recorder run side by side, so claiming never waits for recording, nor recording
for claiming. A claimer takes as many due rows as there are free send slots
(`OUTBOX_SEND_CONCURRENCY`) whenever a send ends, a commit nudges it or a tick passes, so a row's
lease starts when its send does; several of them, so slots freed while one waits on the database
are filled by another. Leases of the rows this process holds are extended while it holds them. Each
send runs in a task of its own. The recorder commits, in one transaction, every answer that came
in since its last write, at most 40 ms after the first of them (under load: those that came while
it was writing), so an answer is committed within ~100 ms of the provider's, never after a batch. When the
database cannot take them the answers stay in memory, and are written as soon as it is back; until
then this process claims nothing. A row whose outcome is unknown (its worker died, or the provider
did not answer) is looked up with the provider before it may be sent again (`outbox_claims.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import metrics
from backend.core.db import Database
from backend.core.deps import current_time
from backend.core.outages import Outage
from backend.core.settings import Settings
from backend.messaging import circuits, outbox_claims
from backend.messaging.outbox_claims import Claimed, Claims, Outcome
from backend.messaging.senders import Sender, SendFailed

log = logging.getLogger("frontdesk.outbox")

# Free slots that come within this of each other are filled by one claim.
COALESCE_SECONDS = 0.005
# Answers are written at most this long after the first of them came (with those that came
# meanwhile): a transaction per dozens of sends, not per send, and each committed well within 100 ms.
RECORD_AFTER_SECONDS = 0.04
# Claims under way at once: while one waits on the database, slots freed meanwhile are filled by
# another, not left idle until the first is done. A worker sending is bound by the claims' database
# round trips, not its CPU: with 20 send slots four beat two (bench/faults.py: ~79 % of the batch
# claimer's throughput against ~72 %) and eight did no better; 50 slots then brought it to 101-108 %.
CLAIMERS = 4
# After a failed turn (the database is away), the next try comes this much later, doubling.
RETRY_SECONDS = (0.1, 2.0)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        senders: dict[str, Sender],
        clock: Callable[[], datetime] = current_time,
    ) -> None:
        self.db = db
        self.settings = settings
        self.senders = senders  # channel -> sender
        self.clock = clock
        self.providers = {channel: sender.name for channel, sender in senders.items()}
        self._in_flight: dict[uuid.UUID, Claimed] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._answered: list[tuple[Claimed, Outcome]] = []
        self._claims_under_way = 0
        self._slots_being_claimed = 0
        self._wake = asyncio.Event()  # the claimer's: slots are free, or rows may be due
        self._answers = asyncio.Event()  # the recorder's: answers are waiting
        self._claiming = Outage(log, "claiming messages")
        self._recording = Outage(log, "recording sends")
        # Leases are extended at a third of their length, so one missed turn does not lose them.
        self._lease_every = settings.outbox_lease_seconds / 3
        self._leases_due = time.monotonic() + self._lease_every

    @property
    def free_slots(self) -> int:
        return self.settings.outbox_send_concurrency - len(self._in_flight) - self._slots_being_claimed

    def nudge(self) -> None:
        """Rows may be due: claim what the free slots can take."""
        self._wake.set()

    # ---- one pass at a time: tests, and a clock under control ----

    async def run_once(self, now: datetime | None = None) -> Claims:
        """Claim what the free slots take, and wait for those sends, recording each answer as it
        comes."""
        now = now or self.clock()
        claims = await self._claim(now)
        while self._in_flight or self._answered:
            if not self._answered:
                await self._answers.wait()
            self._answers.clear()
            await self._record_answered(now)
        return claims

    async def drain(self, now: datetime | None = None) -> int:
        """Send until nothing is due; the total of rows claimed."""
        total = 0
        while True:
            claims = await self.run_once(now)
            total += len(claims.claimed)
            # A reconciled row the provider never took is due again at once.
            if not claims.more and not any(claimed.unknown_since for claimed in claims.claimed):
                return total

    # ---- the worker's loops ----

    async def run(self) -> None:
        """Until cancelled: claim into free slots whenever nudged, a send ends or a tick passes;
        record answers as they come."""
        tick = min(self.settings.worker_sweep_seconds, self._lease_every)
        async with asyncio.TaskGroup() as group:
            for _ in range(CLAIMERS):
                group.create_task(
                    _forever(self._claim_turn, self._wake, self._claiming, tick, COALESCE_SECONDS)
                )
            group.create_task(
                _forever(self._record_turn, self._answers, self._recording, None, RECORD_AFTER_SECONDS)
            )

    async def _claim_turn(self) -> None:
        now = self.clock()
        if time.monotonic() >= self._leases_due:
            self._leases_due = time.monotonic() + self._lease_every  # the other claimer leaves them
            held = self._holding()
            try:
                await self.db.transaction(
                    lambda session: outbox_claims.extend_leases(session, self.settings, held, now)
                )
            except Exception:
                self._leases_due = time.monotonic()  # on the next turn again, not a third of a lease later
                raise
        if self.free_slots > 0 and not self._recording.ongoing:
            claims = await self._claim(now)
            if claims.more and self.free_slots > 0:
                self._wake.set()  # rows were held back (quiet hours, limits): look again

    async def _record_turn(self) -> None:
        stalled = self._recording.ongoing
        await self._record_answered(self.clock())
        if stalled:
            self._wake.set()  # the answers are written: claiming may go on

    async def close(self) -> None:
        """Let sends in flight finish (within the provider's timeout) and record them."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.provider_timeout_seconds + 1)
        for delay in (0.0, 0.5, 1.0, 2.0):
            await asyncio.sleep(delay)
            try:
                await self._record_answered(self.clock())
                break
            except Exception as error:
                self._recording.failed(error)
        if self._answered:
            log.error(
                "stopping with %d send outcomes unrecorded; their rows will be reconciled",
                len(self._answered),
            )
        for sender in self.senders.values():
            await sender.close()

    # ---- the steps ----

    async def _claim(self, now: datetime) -> Claims:
        holding = self._holding()
        slots = self.free_slots
        # A provider being probed (half open) gets one probe: only a claim with none beside it sends it.
        probe = self._claims_under_way == 0

        async def claim(session: AsyncSession) -> Claims:
            return await outbox_claims.claim(
                session, self.settings, self.providers, now, slots, holding, probe=probe
            )

        self._claims_under_way += 1
        self._slots_being_claimed += slots
        try:
            claims = await self.db.transaction(claim)
        finally:
            self._claims_under_way -= 1
            self._slots_being_claimed -= slots
        for claimed in claims.claimed:
            self._in_flight[claimed.id] = claimed
            task = asyncio.create_task(self._attempt(claimed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return claims

    async def _attempt(self, claimed: Claimed) -> None:
        outcome = await self._ask(claimed)
        result = _result(claimed, outcome)
        metrics.SENDS.labels(claimed.provider, result).inc()
        self._answered.append((claimed, outcome))
        del self._in_flight[claimed.id]
        metrics.OUTBOX_UNRECORDED.set(len(self._answered))
        self._answers.set()
        self._wake.set()  # a slot is free

    def _holding(self) -> list[Claimed]:
        """The rows this process holds: sends in flight, and answers not yet written."""
        return [*self._in_flight.values(), *(claimed for claimed, _ in self._answered)]

    async def _ask(self, claimed: Claimed) -> Outcome:
        """Hand the row to its provider, or (outcome unknown) ask the provider whether it has it."""
        sender = self.senders[claimed.channel]
        try:
            if claimed.unknown_since is not None:
                found = await sender.find(claimed.envelope, claimed.unknown_since, claimed.known)
                return Outcome(provider_message_id=found) if found else Outcome(never_sent=True)
            return Outcome(provider_message_id=await sender.send(claimed.envelope))
        except SendFailed as failure:
            log.warning("%s send of %s failed: %s", sender.name, claimed.id, failure.message)
            return Outcome(
                error=failure.message,
                code=failure.code,
                permanent=failure.permanent and claimed.unknown_since is None,
                opted_out=failure.opted_out and claimed.unknown_since is None,
                # A lookup that failed leaves the outcome as unknown as it was.
                maybe_sent=failure.maybe_sent or claimed.unknown_since is not None,
            )
        except Exception as error:  # a sender bug: whether it went is unknown, so ask before resending
            log.exception("%s send of %s raised", sender.name, claimed.id)
            return Outcome(error=f"unexpected {type(error).__name__}", maybe_sent=True)

    async def _record_answered(self, now: datetime) -> None:
        if not self._answered:
            return
        answered = self._answered[:]

        async def write(session: AsyncSession) -> None:
            await outbox_claims.record(session, self.settings, answered, now)
            for provider, outcomes in _by_provider(answered).items():
                await circuits.record_provider_health(
                    session,
                    self.settings,
                    provider,
                    succeeded=any(outcome.sent for outcome in outcomes),
                    # Permanent errors are about the message (a bad number), not the provider's health.
                    failures=sum(1 for outcome in outcomes if _provider_failed(outcome)),
                    now=now,
                )

        await self.db.transaction(write)
        # Only now: answers that came in while this was being written wait for the next turn.
        del self._answered[: len(answered)]
        metrics.OUTBOX_UNRECORDED.set(len(self._answered))
        if any(outcome.never_sent for _, outcome in answered):
            self._wake.set()  # reconciled rows the provider never took are due again


async def _forever(
    turn: Callable[[], Awaitable[None]],
    wake: asyncio.Event,
    outage: Outage,
    tick: float | None,
    gather: float,
) -> None:
    """`turn` whenever `wake` is set (or `tick` passes), `gather` seconds later so that what comes
    one by one (answers, free slots) is taken together. A turn that fails (the database is away)
    is tried again soon, then less and less often; the outage is logged once."""
    delay = RETRY_SECONDS[0]
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=tick)
        await asyncio.sleep(gather)
        wake.clear()
        try:
            await turn()
        except Exception as error:
            outage.failed(error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_SECONDS[1])
            wake.set()
        else:
            outage.recovered()
            delay = RETRY_SECONDS[0]


def _by_provider(answered: list[tuple[Claimed, Outcome]]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = defaultdict(list)
    for claimed, outcome in answered:
        grouped[claimed.provider].append(outcome)
    return grouped


def _provider_failed(outcome: Outcome) -> bool:
    return not outcome.sent and not outcome.permanent and not outcome.never_sent


def _result(claimed: Claimed, outcome: Outcome) -> str:
    if claimed.unknown_since is not None:
        return "found" if outcome.sent else "not_found" if outcome.never_sent else "unknown"
    if outcome.sent:
        return "sent"
    return "opted_out" if outcome.opted_out else "unknown" if outcome.maybe_sent else "failed"
