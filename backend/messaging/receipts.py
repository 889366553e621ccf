"""Delivery receipts from providers (Twilio status callbacks): applied in order, repeats harmless; a
carrier's "unsubscribed" (21610) opts the number out.

Every text's callback URL names its outbox row (Twilio signs the URL), so a receipt for a message
whose send was never recorded (its worker died waiting for Twilio's answer) settles the row as sent
with that message id, and it is not sent again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.event_catalogue import MessageDelivered, MessageFailed
from backend.messaging import opt_outs, outbox, outbox_claims
from backend.messaging.models import OutboxMessage

# Twilio's error for a recipient who unsubscribed from the sender (a STOP at the carrier).
UNSUBSCRIBED = "21610"
DELIVERY_ORDER = {
    "accepted": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


async def record_delivery(
    session: AsyncSession,
    provider: str,
    provider_message_id: str,
    status: str,
    error_code: str | None,
    now: datetime,
    outbox_id: uuid.UUID | None = None,
) -> bool:
    """Apply a provider's delivery receipt. Repeats and late, out-of-order ones change nothing.

    False if no message has that id.
    """
    row = (
        await session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.provider == provider, OutboxMessage.provider_message_id == provider_message_id
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None and outbox_id is not None:
        row = await _settle_unrecorded(session, provider, provider_message_id, outbox_id, now)
    if row is None:
        return False
    current = DELIVERY_ORDER.get(row.delivery_status or "", -1)
    if DELIVERY_ORDER.get(status, -1) <= current:
        return True
    row.delivery_status = status
    row.delivery_updated_at = now
    if error_code:
        row.error_code = error_code
    if status == "delivered":
        events.record(
            session,
            row.tenant_id,
            outbox.message_event(row, MessageDelivered),
            correlation_id=row.correlation_id,
        )
    elif status in ("undelivered", "failed"):
        # The carrier's word is final: the row says it was not delivered, and why, and is not sent again.
        row.status = "permanently_failed"
        code = f" (Twilio error {error_code})" if error_code else ""
        row.error = f"the carrier reported it {status}{code}"
        failed = outbox.message_event(row, MessageFailed, reason="undelivered", error_code=error_code)
        events.record(session, row.tenant_id, failed, correlation_id=row.correlation_id)
    if error_code == UNSUBSCRIBED and row.channel == "sms":
        await opt_outs.carrier_opt_out(session, row.tenant_id, row.recipient, row.correlation_id, now)
    return True


async def _settle_unrecorded(
    session: AsyncSession, provider: str, provider_message_id: str, outbox_id: uuid.UUID, now: datetime
) -> OutboxMessage | None:
    """The row named in the callback URL, if its send was never recorded: now it is, as sent."""
    row = (
        await session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.id == outbox_id,
                OutboxMessage.provider == provider,
                OutboxMessage.provider_message_id.is_(None),
                OutboxMessage.status.in_(outbox.UNSENT),
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    row.provider_message_id = provider_message_id
    row.sent_at = now
    outbox_claims.finish(session, row, "sent")
    return row
