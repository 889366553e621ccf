"""The outbox dispatcher: claim due rows, hand them to their providers, record what happened.

Claiming commits before any provider is called (the row is `sending` under a lease), and each
outcome is recorded in its own short transaction, so a provider that hangs holds no lock and a
worker killed mid-send leaves a row another worker reclaims once the lease has passed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import metrics
from backend.core.db import Database
from backend.core.deps import current_time
from backend.core.settings import Settings
from backend.messaging import circuits, outbox
from backend.messaging.outbox import Claimed, Outcome
from backend.messaging.senders import Envelope, Sender, SendFailed

log = logging.getLogger("frontdesk.outbox")


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
        self._limit = asyncio.Semaphore(settings.outbox_send_concurrency)

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim and send one batch; the number of rows handed to providers.

        The outcomes are recorded in one transaction per batch. Sends run concurrently.
        """
        now = now or self.clock()
        providers = {channel: sender.name for channel, sender in self.senders.items()}

        async def claim(session: AsyncSession) -> list[Claimed]:
            return await outbox.claim(session, self.settings, providers, now)

        batch = await self.db.transaction(claim)
        if not batch:
            return 0
        outcomes = await asyncio.gather(*(self._send(claimed) for claimed in batch))
        await self._record(batch, outcomes, now)
        return len(batch)

    async def drain(self, now: datetime | None = None, max_batches: int | None = None) -> int:
        """Send until nothing is due (or `max_batches` were sent); the total handed to providers."""
        total = batches = 0
        while (max_batches is None or batches < max_batches) and (sent := await self.run_once(now)):
            total += sent
            batches += 1
        return total

    async def _send(self, claimed: Claimed) -> Outcome:
        sender = self.senders[claimed.channel]
        envelope = Envelope(
            str(claimed.id), claimed.channel, claimed.recipient, claimed.subject, claimed.body, claimed.sender
        )
        async with self._limit:
            try:
                return Outcome(provider_message_id=await sender.send(envelope))
            except SendFailed as failure:
                log.warning("%s send of %s failed: %s", sender.name, claimed.id, failure.message)
                return Outcome(
                    error=failure.message,
                    code=failure.code,
                    permanent=failure.permanent,
                    opted_out=failure.opted_out,
                )
            except Exception as error:  # a sender bug must not strand the row in `sending`
                log.exception("%s send of %s raised", sender.name, claimed.id)
                return Outcome(error=f"unexpected {type(error).__name__}", permanent=False)

    async def _record(self, batch: list[Claimed], outcomes: list[Outcome], now: datetime) -> None:
        health: dict[str, list[Outcome]] = defaultdict(list)
        for claimed, outcome in zip(batch, outcomes, strict=True):
            health[claimed.provider].append(outcome)
            result = "sent" if outcome.sent else "opted_out" if outcome.opted_out else "failed"
            metrics.SENDS.labels(claimed.provider, result).inc()

        async def write(session: AsyncSession) -> None:
            await outbox.record_outcomes(session, self.settings, list(zip(batch, outcomes, strict=True)), now)
            for provider, results in health.items():
                await circuits.record_provider_health(
                    session,
                    self.settings,
                    provider,
                    succeeded=any(result.sent for result in results),
                    # Permanent errors are about the message (a bad number), not the provider's health.
                    failures=sum(1 for result in results if not result.sent and not result.permanent),
                    now=now,
                )

        await self.db.transaction(write)

    async def close(self) -> None:
        for sender in self.senders.values():
            await sender.close()
