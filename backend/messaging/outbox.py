"""The notification outbox: every message Frontdesk sends is first a row here.

A row is written in the transaction of the change that causes it, so a rolled-back booking sends
nothing, and its dedupe key makes writing it twice harmless. The dispatcher (`dispatcher.py`)
claims due rows with FOR UPDATE SKIP LOCKED; this module holds the steps it takes on rows:

    pending ──claim──> sending ──> sent
       ^                  │  └───> failed ──(backoff)──> claimed again … ──> permanently_failed
       │                  └──(lease passes: the worker died)──> claimed again
       └── quiet hours / rate limit defer it; opted_out and suppressed are final.

A message in the tenant's own wording starts as `rendering` (in the profile's wording, with the
values its template needs): the worker renders it after commit (`tenant_wording.py`) and moves it
on to `pending`. The dispatcher never claims it before.

Before an SMS is handed to a provider the opt-out table, the recipient's quiet hours (non-urgent
messages only) and the per-recipient sliding-window rate limit are checked, in the claiming
transaction, under a per-recipient advisory lock so two workers cannot both squeeze under it.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import phonenumbers
from phonenumbers import timezone as phone_timezones
from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.context import Caller, TenantContext
from backend.core.event_catalogue import (
    MessageData,
    MessageFailed,
    MessageQueued,
    MessageSent,
    MessageSuppressed,
)
from backend.core.settings import Settings
from backend.messaging import circuits, opt_outs, sms_gate
from backend.messaging.models import OutboxMessage
from backend.telephony import phone_numbers
from backend.tenants import service as tenants
from channels.segments import count_segments

CLAIMABLE = ("pending", "failed", "rate_limited")
RENDERING = "rendering"
UNSENT = (*CLAIMABLE, "sending")
FINAL = ("sent", "permanently_failed", "opted_out", "suppressed")
# The one text an opted-out number still gets: the confirmation of its STOP.
OPT_OUT_CONFIRMATION = sms_gate.OPT_OUT_CONFIRMATION
M = TypeVar("M", bound=MessageData)


@dataclass(frozen=True)
class NewMessage:
    kind: str
    channel: str  # sms | email
    recipient: str
    body: str
    dedupe_key: str
    subject: str | None = None
    urgent: bool = False
    appointment_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    # SMS: the practice number to send from; unset, the tenant's first number (or the default).
    sender: str | None = None
    # The text actually sent, sealed (`seal_body`), when `body` may not show it: an account e-mail.
    sealed_body: str | None = None
    # Set when the tenant has their own wording for this message: `body` and `subject` are the
    # profile's until the worker renders theirs with these values.
    render_context: dict[str, Any] | None = None


def seal_body(settings: Settings, dedupe_key: str, text: str) -> str:
    """`text` sealed for the outbox row with this dedupe key: nobody who reads the row can read it."""
    return settings.key_ring.seal(text, _sealed_context(dedupe_key))


def _sealed_context(dedupe_key: str) -> str:
    return f"outbox:{dedupe_key}"


@functools.lru_cache(maxsize=4096)  # a pure function of its arguments, and parsing is not cheap
def recipient_timezone(channel: str, recipient: str, fallback: str) -> str:
    """The recipient's timezone where their number pins one down (most area codes), else the tenant's."""
    if channel != "sms":
        return fallback
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(recipient))
    except phonenumbers.NumberParseException:
        return fallback
    return zones[0] if len(zones) == 1 and "/" in zones[0] else fallback


# Built once: building it per message cost more than running it.
_INSERT_UNLESS_QUEUED = (
    insert(OutboxMessage)
    .on_conflict_do_nothing(constraint="notification_outbox_dedupe_key")
    .returning(OutboxMessage.id)
)


async def enqueue(
    session: AsyncSession,
    caller: Caller,
    message: NewMessage,
    now: datetime,
    *,
    suppressed: str | None = None,
) -> uuid.UUID | None:
    """Add a message to the outbox; None if one with the same dedupe key is already there."""
    tenant = caller.tenant
    row_id = uuid.uuid4()
    status = "pending"
    if suppressed is not None:
        status = "suppressed"  # a message the policy withheld (no consent) is kept, final, with the reason
    elif message.render_context is not None:
        status = RENDERING
    sender = message.sender
    if message.channel == "sms" and sender is None:
        sender = await phone_numbers.primary(session, tenant.id)
    row = dict(
        id=row_id,
        tenant_id=tenant.id,
        kind=message.kind,
        channel=message.channel,
        recipient=message.recipient,
        recipient_timezone=recipient_timezone(message.channel, message.recipient, tenant.timezone_name),
        subject=message.subject,
        body=message.body,
        sealed_body=message.sealed_body,
        segments=count_segments(message.body).segments if message.channel == "sms" else None,
        urgent=message.urgent,
        appointment_id=message.appointment_id,
        customer_id=message.customer_id,
        dedupe_key=message.dedupe_key,
        correlation_id=caller.correlation_id,
        sender=sender,
        next_attempt_at=now,
        # The caller's clock, so caps and cooldowns counted from it agree with injected time.
        created_at=now,
        status=status,
        error=suppressed,
        render_context=message.render_context if status == RENDERING else None,
    )
    inserted = (await session.execute(_INSERT_UNLESS_QUEUED, row)).scalar_one_or_none()
    if inserted is not None:
        about = {
            "message_id": inserted,
            "kind": message.kind,
            "channel": message.channel,
            "appointment_id": message.appointment_id,
            "customer_id": message.customer_id,
        }
        events.emit(
            session,
            caller,
            MessageQueued(**about) if suppressed is None else MessageSuppressed(**about, reason=suppressed),
        )
    return inserted


async def suppress_unsent(
    session: AsyncSession,
    caller: Caller,
    appointment_id: uuid.UUID,
    kinds: tuple[str, ...],
    reason: str,
) -> None:
    """Stop messages that are no longer true (a reminder of a moved or cancelled visit)."""
    rows = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.tenant_id == caller.tenant.id,
            OutboxMessage.appointment_id == appointment_id,
            OutboxMessage.kind.in_(kinds),
            OutboxMessage.status.in_((*CLAIMABLE, RENDERING)),
        )
        .values(status="suppressed", error=reason, render_context=None)
        .returning(OutboxMessage)
    )
    for row in rows.scalars():
        events.emit(session, caller, message_event(row, MessageSuppressed, reason=reason))


# ---- the dispatcher's steps ----


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    tenant_id: uuid.UUID
    channel: str
    recipient: str
    subject: str | None
    body: str
    attempts: int
    provider: str
    sender: str | None


# Every inbound text runs it: built once, as building it cost more than running it.
_REMINDED = (
    select(OutboxMessage.appointment_id, func.max(OutboxMessage.last_attempt_at).label("last"))
    .where(
        OutboxMessage.tenant_id == bindparam("tenant_id"),
        OutboxMessage.kind == "reminder",
        OutboxMessage.channel == "sms",
        OutboxMessage.recipient == bindparam("phone"),
        OutboxMessage.status.in_(("sending", "sent")),
        OutboxMessage.last_attempt_at > bindparam("since"),
        OutboxMessage.appointment_id.is_not(None),
    )
    .group_by(OutboxMessage.appointment_id)
    .order_by(text("last DESC"))
)


async def reminded_appointments(
    session: AsyncSession, tenant_id: uuid.UUID, phone: str, since: datetime
) -> list[uuid.UUID]:
    """The appointments this number was sent an SMS reminder about since `since`, latest first."""
    rows = await session.execute(_REMINDED, {"tenant_id": tenant_id, "phone": phone, "since": since})
    return [appointment_id for appointment_id, _ in rows]


async def claim(
    session: AsyncSession,
    settings: Settings,
    providers: dict[str, str],
    now: datetime,
) -> list[Claimed]:
    """Take up to a batch of due rows for sending; rows that must not be sent get their status here.

    `providers` maps channel -> provider name. A channel whose provider's circuit is open is left
    alone; a half-open one (cool-down over) gets a single probe row.
    """
    circuit_states = await circuits.states(session, list(providers.values()), settings, now)
    tenants_seen: dict[uuid.UUID, TenantContext] = {}
    claimed: list[Claimed] = []
    for channel, provider in providers.items():
        state = circuit_states.get(provider, "closed")
        if state == "open":
            continue
        limit = 1 if state == "half_open" else settings.outbox_batch_size
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                or_(
                    and_(OutboxMessage.status.in_(CLAIMABLE), OutboxMessage.next_attempt_at <= now),
                    and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
                ),
            )
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list((await session.execute(query)).scalars())
        for row in rows:
            if row.tenant_id not in tenants_seen:
                tenants_seen[row.tenant_id] = await tenants.get_context(session, row.tenant_id)
        held = await sms_gate.decide(session, settings, tenants_seen, rows, now) if channel == "sms" else {}
        for row in rows:
            if (hold := held.get(row.id)) is not None:
                _hold(session, row, hold)
                continue
            row.status = "sending"
            row.attempts += 1
            row.provider = provider
            row.last_attempt_at = now
            row.lease_until = now + timedelta(seconds=settings.outbox_lease_seconds)
            body = row.body
            if row.sealed_body is not None:
                body = settings.key_ring.open(row.sealed_body, _sealed_context(row.dedupe_key))
            claimed.append(
                Claimed(
                    row.id,
                    row.tenant_id,
                    row.channel,
                    row.recipient,
                    row.subject,
                    body,
                    row.attempts,
                    provider,
                    row.sender,
                )
            )
    await session.flush()
    return claimed


def _hold(session: AsyncSession, row: OutboxMessage, hold: sms_gate.Hold) -> None:
    if hold.status == "opted_out":
        _finish(session, row, "opted_out", hold.error)
        return
    row.status = hold.status
    row.next_attempt_at = hold.next_attempt_at or row.next_attempt_at
    if hold.error:
        row.error = hold.error


def _finish(session: AsyncSession, row: OutboxMessage, status: str, error: str | None = None) -> None:
    row.status = status
    row.lease_until = None
    row.error = error
    row.sealed_body = None  # a private link leaves no trace once its message is settled
    if status == "sent":
        event: MessageData = message_event(row, MessageSent)
    else:
        reason = "opted_out" if status == "opted_out" else "provider_error"
        event = message_event(row, MessageFailed, reason=reason, error_code=row.error_code)
    events.record(session, row.tenant_id, event, correlation_id=row.correlation_id)


def message_event(row: OutboxMessage, event: type[M], **fields: Any) -> M:
    """The catalogue event `event` about the message in `row`."""
    return event(
        message_id=row.id,
        kind=row.kind,
        channel=row.channel,
        appointment_id=row.appointment_id,
        customer_id=row.customer_id,
        **fields,
    )


@dataclass(frozen=True)
class Outcome:
    """What happened when a claimed row was handed to its provider."""

    provider_message_id: str | None = None
    error: str | None = None
    code: str | None = None
    permanent: bool = False
    opted_out: bool = False

    @property
    def sent(self) -> bool:
        return self.provider_message_id is not None


async def record_outcomes(
    session: AsyncSession, settings: Settings, results: list[tuple[Claimed, Outcome]], now: datetime
) -> None:
    """What the providers answered for a batch: the rows are read and locked in one statement."""
    # Only the claim that is still current may write: if this worker was presumed dead and the row
    # re-claimed, the newer attempt owns it.
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
        if row is not None and row.attempts == claimed.attempts:
            await _apply_outcome(session, settings, row, outcome, now)


async def _apply_outcome(
    session: AsyncSession, settings: Settings, row: OutboxMessage, outcome: Outcome, now: datetime
) -> None:
    row.error_code = outcome.code
    if outcome.sent:
        row.provider_message_id = outcome.provider_message_id
        row.sent_at = now
        _finish(session, row, "sent")
    elif outcome.opted_out:
        await opt_outs.record_opt_out(session, row.tenant_id, row.recipient, "carrier")
        _finish(session, row, "opted_out", outcome.error)
    elif outcome.permanent or row.attempts >= settings.outbox_max_attempts:
        _finish(session, row, "permanently_failed", outcome.error)
    else:
        row.status = "failed"
        row.lease_until = None
        row.error = outcome.error
        row.next_attempt_at = now + timedelta(seconds=retry_delay(settings, row.attempts))


def retry_delay(settings: Settings, attempts: int) -> float:
    """Exponential backoff with jitter (0.5x-1.5x), so retries of one outage do not arrive together."""
    base = min(settings.outbox_retry_base_seconds * 2 ** (attempts - 1), settings.outbox_retry_max_seconds)
    return base * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not cryptography
