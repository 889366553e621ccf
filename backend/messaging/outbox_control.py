"""Staff putting a message right: send a failed one again, or cancel one that has not gone.

Retrying keeps every rule: the row goes back to `pending` and the dispatcher checks opt-out,
quiet hours and rate limits again before sending. A cancelled message is never sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller
from backend.core.errors import Conflict, NotFound
from backend.messaging.models import OutboxMessage

RETRYABLE = ("failed", "permanently_failed", "rate_limited")
CANCELLABLE = ("rendering", "pending", "failed", "permanently_failed", "rate_limited")


async def _locked(session: AsyncSession, caller: Caller, message_id: uuid.UUID) -> OutboxMessage:
    row = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.tenant_id == caller.tenant.id)
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"message {message_id} not found")
    return row


# E-mails whose text is a private sign-in link, sealed in the row (`outbox.seal_body`).
ACCOUNT_KINDS = frozenset({"staff_invite", "staff_reset"})


async def retry(session: AsyncSession, caller: Caller, message_id: uuid.UUID, now: datetime) -> OutboxMessage:
    row = await _locked(session, caller, message_id)
    if row.status == "pending":
        return row  # already waiting to go: a repeated click changes nothing
    if row.status not in RETRYABLE:
        raise Conflict(
            f"a {row.status.replace('_', ' ')} message cannot be sent again", details={"status": row.status}
        )
    if row.kind in ACCOUNT_KINDS and row.sealed_body is None:
        raise Conflict(
            "an invitation or password-reset e-mail is not kept once it has failed; send a new one",
            details={"status": row.status},
        )
    row.status, row.attempts, row.next_attempt_at, row.lease_until = "pending", 0, now, None
    audit.record(session, caller, "message.retried", "message", row.id)
    await session.flush()
    return row


async def cancel(session: AsyncSession, caller: Caller, message_id: uuid.UUID) -> OutboxMessage:
    row = await _locked(session, caller, message_id)
    if row.status == "cancelled":
        return row
    if row.status not in CANCELLABLE:
        raise Conflict(
            f"a {row.status.replace('_', ' ')} message cannot be cancelled", details={"status": row.status}
        )
    row.status, row.error = "cancelled", "cancelled by staff"
    row.sealed_body = row.render_context = None
    audit.record(session, caller, "message.cancelled", "message", row.id)
    await session.flush()
    return row
