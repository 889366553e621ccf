"""The test ping: one signed request to an endpoint now, answered with what the receiver said.

It is logged like any delivery but never retried, and a ping that gets through closes the
endpoint's circuit: the receiver has just shown it works again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller
from backend.core.settings import Settings
from backend.events import circuits, deliveries, subscriptions
from backend.events.deliveries import Claimed
from backend.events.models import WebhookDelivery
from backend.events.sender import Answer

PING = "webhook.ping"


async def start(
    session: AsyncSession, caller: Caller, settings: Settings, endpoint_id: uuid.UUID, now: datetime
) -> Claimed:
    endpoint = await subscriptions.get(session, caller.tenant, endpoint_id)
    message_id = f"ping_{uuid.uuid4().hex}"
    row = WebhookDelivery(
        id=uuid.uuid4(),
        tenant_id=caller.tenant.id,
        endpoint_id=endpoint.id,
        event_id=None,
        message_id=message_id,
        event_type=PING,
        payload={
            "id": message_id,
            "type": PING,
            "version": 1,
            "tenant_id": str(caller.tenant.id),
            "occurred_at": now.isoformat(),
            "correlation_id": caller.correlation_id,
            "data": {"webhook_endpoint_id": str(endpoint.id)},
        },
        status="sending",
        attempts=1,
        next_attempt_at=now,
        lease_until=now + timedelta(seconds=settings.webhook_timeout_seconds + 60),
    )
    session.add(row)
    await session.flush()
    [claimed] = await deliveries.build_requests(session, settings, [row], now)
    return claimed


async def finish(session: AsyncSession, claimed: Claimed, answer: Answer, now: datetime) -> WebhookDelivery:
    row = await session.get_one(WebhookDelivery, claimed.id, with_for_update=True)
    deliveries.write_outcome(row, answer, now)
    row.status = "delivered" if answer.ok else "failed"
    if answer.ok:
        await circuits.closed(session, {claimed.endpoint_id}, now)
    return row
