"""The dispatcher's steps on outbox rows: claim what can be sent now, keep the lease while the
provider works, record each answer, and settle rows whose outcome nobody recorded.

    pending ──claim──> sending ──> sent
       ^                  │  ├───> failed ──(backoff)──> claimed again … ──> permanently_failed
       │                  │  └───> no answer (it may have gone) ──┐
       │                  └──(lease ends: its worker died)─────────┴──> reconcile: ask the provider
       │                                                                 ├── it has it ──> sent
       └─────────────────────────────────────────────────────────────────┴── it has not ──> pending

A row is claimed only when a send slot is free for it, so its lease runs while its send is in
flight, and the holder extends it for as long as the provider takes. Each claim has its own id:
only that claim records the outcome, so a holder presumed dead cannot overwrite what the row's
next holder found out. A row left `sending` is never simply sent again: the provider is asked
first, and only a message it never took goes back to `pending` (where opt-out, quiet hours and rate
limits are checked again before it is sent).

Before an SMS is handed to a provider the opt-out table, the recipient's quiet hours (non-urgent
messages only) and the per-recipient sliding-window rate limit are checked, in the claiming
transaction, under a per-recipient advisory lock so two workers cannot both squeeze under it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.event_catalogue import MessageData, MessageFailed, MessageSent, MessageSuppressed
from backend.core.settings import Settings
from backend.messaging import circuits, opt_outs, outbox, sms_gate
from backend.messaging.models import OutboxMessage
from backend.messaging.senders import Envelope, ProviderAccount
from backend.telephony import twilio_accounts

# Ids a reconciled row may not take: other rows' messages to the same number in the days around.
KNOWN_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    claim_id: uuid.UUID
    tenant_id: uuid.UUID
    channel: str
    recipient: str
    subject: str | None
    body: str
    attempts: int
    provider: str
    sender: str | None
    # Set when an earlier send's outcome is unknown: the provider is asked about messages since then
    # (the ids in `known` are other rows') instead of being handed this one again.
    unknown_since: datetime | None = None
    known: frozenset[str] = frozenset()
    # A text of a clinic with its own Twilio account goes out from that account.
    account: ProviderAccount | None = None

    @property
    def envelope(self) -> Envelope:
        return Envelope(
            str(self.id), self.channel, self.recipient, self.subject, self.body, self.sender, self.account
        )


@dataclass(frozen=True)
class Claims:
    claimed: list[Claimed]
    # As many rows were due as were asked for: there may be more.
    more: bool


async def claim(
    session: AsyncSession,
    settings: Settings,
    providers: dict[str, str],
    now: datetime,
    limit: int,
    holding: Collection[Claimed] = (),
    *,
    probe: bool = True,
) -> Claims:
    """Take up to `limit` due rows (as many as there are free send slots); rows that must not be
    sent get their status here. Rows this process is `holding` (in flight) are left alone.

    `providers` maps channel -> provider name. A channel whose provider's circuit is open is left
    alone; a half-open one (cool-down over) gets a single probe row, unless one is in flight here
    or `probe` is false (another claim of this process, under way, may be sending it).
    """
    states = await circuits.states(session, list(providers.values()), settings, now)
    closed = [
        channel for channel, provider in providers.items() if states.get(provider, "closed") == "closed"
    ]
    probing = {claimed.channel for claimed in holding}
    half_open = [
        channel
        for channel, provider in providers.items()
        if probe and states.get(provider) == "half_open" and channel not in probing
    ]
    plan = [(closed, limit)] if closed else []
    plan += [([channel], 1) for channel in half_open]
    held_ids = [claimed.id for claimed in holding]
    claimed: list[Claimed] = []
    more = False
    for channels, cap in plan:
        cap = min(cap, limit - len(claimed))
        if cap <= 0:
            break
        rows = await _due(session, channels, now, cap, held_ids)
        more = more or len(rows) == cap
        unknown = [row for row in rows if row.status == "sending"]
        fresh = [row for row in rows if row.status != "sending"]
        for row in unknown:
            claimed.append(await _take(session, settings, row, providers[row.channel], now, reconcile=True))
        texts = [row for row in fresh if row.channel == "sms"]
        held = await sms_gate.decide(session, settings, texts, now) if texts else {}
        for row in fresh:
            if (hold := held.get(row.id)) is not None:
                _hold(session, row, hold)
            else:
                claimed.append(
                    await _take(session, settings, row, providers[row.channel], now, reconcile=False)
                )
    await session.flush()
    return Claims(await _from_own_accounts(session, settings, claimed), more)


async def _from_own_accounts(
    session: AsyncSession, settings: Settings, claimed: list[Claimed]
) -> list[Claimed]:
    """Texts of clinics with their own Twilio account, bound to it (read at each claim: a rotated
    token is used from the next send on)."""
    texting = {c.tenant_id for c in claimed if c.channel == "sms"}
    accounts = await twilio_accounts.for_tenants(session, settings.key_ring, texting)
    return [replace(c, account=accounts.get(c.tenant_id)) if c.channel == "sms" else c for c in claimed]


async def _due(
    session: AsyncSession, channels: list[str], now: datetime, cap: int, holding: Collection[uuid.UUID]
) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel.in_(channels),
            or_(
                and_(OutboxMessage.status.in_(outbox.CLAIMABLE), OutboxMessage.next_attempt_at <= now),
                and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
            ),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(cap)
        .with_for_update(skip_locked=True)
    )
    if holding:
        query = query.where(OutboxMessage.id.not_in(list(holding)))
    return list((await session.execute(query)).scalars())


async def _take(
    session: AsyncSession,
    settings: Settings,
    row: OutboxMessage,
    provider: str,
    now: datetime,
    *,
    reconcile: bool,
) -> Claimed:
    """The row, leased to a new claim: to be sent, or (`reconcile`) to be asked about first."""
    row.claim_id = uuid.uuid4()
    row.lease_until = now + timedelta(seconds=settings.outbox_lease_seconds)
    unknown_since = known = None
    if reconcile:
        # The send whose outcome is unknown began at `last_attempt_at`; nothing else changes yet.
        unknown_since = row.last_attempt_at or row.created_at
        known = await _known_ids(session, row, unknown_since)
    else:
        row.status = "sending"
        row.attempts += 1
        row.provider = provider
        row.last_attempt_at = now
    body = row.body
    if row.sealed_body is not None:
        body = settings.key_ring.open(row.sealed_body, outbox.sealed_context(row.dedupe_key))
    return Claimed(
        row.id,
        row.claim_id,
        row.tenant_id,
        row.channel,
        row.recipient,
        row.subject,
        body,
        row.attempts,
        row.provider or provider,
        row.sender,
        unknown_since,
        frozenset(known or ()),
    )


async def _known_ids(session: AsyncSession, row: OutboxMessage, since: datetime) -> list[str]:
    """The provider ids of other messages to the same recipient around `since`."""
    ids = await session.execute(
        select(OutboxMessage.provider_message_id).where(
            OutboxMessage.tenant_id == row.tenant_id,
            OutboxMessage.channel == row.channel,
            OutboxMessage.recipient == row.recipient,
            OutboxMessage.last_attempt_at > since - KNOWN_LOOKBACK,
            OutboxMessage.provider_message_id.is_not(None),
            OutboxMessage.id != row.id,
        )
    )
    return [provider_id for provider_id in ids.scalars() if provider_id is not None]


def _hold(session: AsyncSession, row: OutboxMessage, hold: sms_gate.Hold) -> None:
    if hold.status in outbox.FINAL:
        finish(session, row, hold.status, hold.error)
        return
    row.status = hold.status
    row.next_attempt_at = hold.next_attempt_at or row.next_attempt_at
    if hold.error:
        row.error = hold.error


async def extend_leases(
    session: AsyncSession, settings: Settings, held: list[Claimed], now: datetime
) -> None:
    """The sends still in flight keep their rows for another lease."""
    if not held:
        return
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([claimed.id for claimed in held]),
            OutboxMessage.claim_id.in_([claimed.claim_id for claimed in held]),
            OutboxMessage.status == "sending",
        )
        .values(lease_until=now + timedelta(seconds=settings.outbox_lease_seconds))
    )


def finish(session: AsyncSession, row: OutboxMessage, status: str, error: str | None = None) -> None:
    """A final status, with its event."""
    row.status = status
    row.lease_until = None
    row.claim_id = None
    row.error = error
    row.sealed_body = None  # a private link leaves no trace once its message is settled
    if status == "sent":
        event: MessageData = outbox.message_event(row, MessageSent)
    elif status == "suppressed":
        event = outbox.message_event(row, MessageSuppressed, reason=error)
    else:
        reason = "opted_out" if status == "opted_out" else "provider_error"
        event = outbox.message_event(row, MessageFailed, reason=reason, error_code=row.error_code)
    events.record(session, row.tenant_id, event, correlation_id=row.correlation_id)


@dataclass(frozen=True)
class Outcome:
    """What the provider answered about a claimed row."""

    provider_message_id: str | None = None
    error: str | None = None
    code: str | None = None
    permanent: bool = False
    opted_out: bool = False
    # No answer: the provider may have taken it. The row waits, unheld, to be reconciled.
    maybe_sent: bool = False
    # Reconciled: the provider never took it. The row is due again.
    never_sent: bool = False

    @property
    def sent(self) -> bool:
        return self.provider_message_id is not None


async def record(
    session: AsyncSession, settings: Settings, results: list[tuple[Claimed, Outcome]], now: datetime
) -> None:
    """What the providers answered: the rows are read and locked in one statement, and only rows
    still held by the claim that asked are written."""
    current = await session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.id.in_([claimed.id for claimed, _ in results]), OutboxMessage.status == "sending"
        )
        .order_by(OutboxMessage.id)
        .with_for_update()
    )
    rows = {row.id: row for row in current.scalars()}
    for claimed, outcome in results:
        row = rows.get(claimed.id)
        if row is not None and row.claim_id == claimed.claim_id:
            await _apply(session, settings, row, outcome, now)


async def _apply(
    session: AsyncSession, settings: Settings, row: OutboxMessage, outcome: Outcome, now: datetime
) -> None:
    if outcome.sent:
        row.provider_message_id = outcome.provider_message_id
        row.sent_at = now
        row.error_code = outcome.code
        finish(session, row, "sent")
    elif outcome.never_sent:
        if row.attempts >= settings.outbox_max_attempts:
            finish(session, row, "permanently_failed", row.error)
            return
        row.status, row.next_attempt_at, row.lease_until, row.claim_id = "pending", now, None, None
    elif outcome.maybe_sent:
        # Nobody holds it; once this short wait passes (the provider's list may lag a little behind
        # it), whoever claims it asks the provider first.
        row.claim_id = None
        row.lease_until = now + timedelta(seconds=settings.provider_timeout_seconds)
        row.error, row.error_code = outcome.error, outcome.code
    elif outcome.opted_out:
        row.error_code = outcome.code
        await opt_outs.carrier_opt_out(session, row.tenant_id, row.recipient, row.correlation_id, now)
        finish(session, row, "opted_out", outcome.error)
    elif outcome.permanent or row.attempts >= settings.outbox_max_attempts:
        row.error_code = outcome.code
        finish(session, row, "permanently_failed", outcome.error)
    else:
        row.status = "failed"
        row.lease_until = None
        row.claim_id = None
        row.error, row.error_code = outcome.error, outcome.code
        row.next_attempt_at = now + timedelta(seconds=outbox.retry_delay(settings, row.attempts))
