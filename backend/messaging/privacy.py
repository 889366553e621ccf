"""A patient's messages (sent or queued) and opt-out state in an export; on erasure the bodies and
addresses go and anything unsent is cancelled. The opt-out row stays: a number that said STOP
must keep getting nothing, whoever it belongs to now. Past the clinic's retention period the bodies
of messages the outbox is done with are emptied, a batch at a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.privacy import ERASED, EXPIRED, REMOVED, Person
from backend.messaging.models import OutboxMessage, ScheduledAction, SmsOptOut
from backend.messaging.outbox_control import CANCELLABLE


def _theirs(person: Person) -> Any:
    return (OutboxMessage.tenant_id == person.tenant_id) & or_(
        OutboxMessage.customer_id == person.customer_id, OutboxMessage.recipient.in_(person.contacts)
    )


async def held_about(session: AsyncSession, person: Person) -> dict[str, Any]:
    sent = await session.scalars(
        select(OutboxMessage).where(_theirs(person)).order_by(OutboxMessage.created_at)
    )
    opted_out = await session.scalars(
        select(SmsOptOut).where(SmsOptOut.tenant_id == person.tenant_id, SmsOptOut.phone.in_(person.phones))
    )
    return {
        "messages": [
            {
                "kind": m.kind,
                "channel": m.channel,
                "to": m.recipient,
                "subject": m.subject,
                "body": m.body,
                "status": m.status,
                "sent_at": m.sent_at,
                "delivery_status": m.delivery_status,
                "created_at": m.created_at,
            }
            for m in sent
        ],
        "sms_opt_outs": [{"phone": o.phone, "source": o.source, "at": o.opted_out_at} for o in opted_out],
    }


async def forget(session: AsyncSession, person: Person) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(_theirs(person), OutboxMessage.status.in_(CANCELLABLE))
        .values(status="cancelled", error="the patient's data was erased")
    )
    await session.execute(
        update(OutboxMessage).where(_theirs(person)).values(recipient=ERASED, body=ERASED, subject=None)
    )
    await session.execute(
        update(ScheduledAction)
        .where(
            ScheduledAction.tenant_id == person.tenant_id,
            ScheduledAction.customer_id == person.customer_id,
            ScheduledAction.status == "pending",
        )
        .values(status="cancelled", outcome="the patient's data was erased", payload={})
    )


# Rows the dispatcher may still send: their bodies are needed, whatever their age.
_NOT_DONE = ("rendering", "pending", "sending", "failed")


async def expire_bodies(session: AsyncSession, tenant_id: uuid.UUID, before: datetime, limit: int) -> int:
    """Up to `limit` bodies of finished messages queued before `before` emptied; how many."""
    batch = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.created_at < before,
            OutboxMessage.status.notin_(_NOT_DONE),
            OutboxMessage.body.notin_(REMOVED),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(batch.scalar_subquery()))
        .values(
            body=EXPIRED,
            subject=None,
            sealed_body=None,
            render_context=None,
            updated_at=OutboxMessage.updated_at,
        )
    )
    return result.rowcount or 0
