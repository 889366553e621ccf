"""The notification outbox: every message Frontdesk sends is first a row here.

A row is written in the transaction of the change that causes it, so a rolled-back booking sends
nothing, and its dedupe key makes writing it twice harmless. The dispatcher (`dispatcher.py`)
claims due rows with FOR UPDATE SKIP LOCKED and moves them through their statuses with the steps
in `outbox_claims.py`; quiet hours and rate limits defer a row, opted_out and suppressed are final.

A message in the tenant's own wording starts as `rendering` (in the profile's wording, with the
values its template needs): the worker renders it after commit (`tenant_wording.py`) and moves it
on to `pending`. The dispatcher never claims it before.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import phonenumbers
from phonenumbers import timezone as phone_timezones
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.context import Caller
from backend.core.event_catalogue import (
    MessageData,
    MessageQueued,
    MessageSuppressed,
)
from backend.core.settings import Settings
from backend.messaging import sms_gate
from backend.messaging.models import OutboxMessage
from backend.telephony import phone_numbers
from channels.segments import count_segments

CLAIMABLE = ("pending", "failed", "rate_limited")
RENDERING = "rendering"
UNSENT = (*CLAIMABLE, "sending")
FINAL = ("sent", "permanently_failed", "opted_out", "suppressed")
# The confirmation of a STOP: one of the texts an opted-out number still gets (`sms_gate.TO_OPTED_OUT`).
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
    return settings.key_ring.seal(text, sealed_context(dedupe_key))


def sealed_context(dedupe_key: str) -> str:
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


# Every inbound text runs it: built once, as building it cost more than running it.
_REMINDED = (
    select(OutboxMessage.appointment_id, func.max(OutboxMessage.last_attempt_at).label("last"))
    .where(
        OutboxMessage.tenant_id == bindparam("tenant_id"),
        OutboxMessage.kind == "reminder",
        OutboxMessage.status.in_(("sending", "sent")),
        OutboxMessage.last_attempt_at > bindparam("since"),
        OutboxMessage.appointment_id.is_not(None),
    )
    .group_by(OutboxMessage.appointment_id)
    .order_by(text("last DESC"))
)
_REMINDED_BY_TEXT = _REMINDED.where(
    OutboxMessage.channel == "sms", OutboxMessage.recipient == bindparam("phone")
)
_REMINDED_CUSTOMER = _REMINDED.where(OutboxMessage.customer_id == bindparam("customer_id"))


async def reminded_appointments(
    session: AsyncSession, tenant_id: uuid.UUID, phone: str, since: datetime
) -> list[uuid.UUID]:
    """The appointments this number was sent an SMS reminder about since `since`, latest first."""
    rows = await session.execute(_REMINDED_BY_TEXT, {"tenant_id": tenant_id, "phone": phone, "since": since})
    return [appointment_id for appointment_id, _ in rows]


async def reminded_appointments_of(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID, since: datetime
) -> list[uuid.UUID]:
    """The appointments this customer was sent a reminder about (any channel) since `since`, latest
    first."""
    rows = await session.execute(
        _REMINDED_CUSTOMER, {"tenant_id": tenant_id, "customer_id": customer_id, "since": since}
    )
    return [appointment_id for appointment_id, _ in rows]


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


def retry_delay(settings: Settings, attempts: int) -> float:
    """Exponential backoff with jitter (0.5x-1.5x), so retries of one outage do not arrive together."""
    base = min(settings.outbox_retry_base_seconds * 2 ** (attempts - 1), settings.outbox_retry_max_seconds)
    return base * random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not cryptography
