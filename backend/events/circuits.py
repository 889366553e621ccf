"""A webhook endpoint's circuit, as deliveries.py describes it: failures counted once per round,
probes while it fails, paused past the threshold (the clinic told), and resumed at full speed by
the first success.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.settings import Settings
from backend.events import alerts
from backend.events.models import WebhookDelivery, WebhookEndpoint


async def failed(
    session: AsyncSession,
    settings: Settings,
    endpoint_id: uuid.UUID,
    last_claimed: datetime,
    error: str,
    now: datetime,
) -> None:
    """Requests claimed up to `last_claimed` failed: one failure, unless one was counted since."""
    endpoint = await session.get_one(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint.last_failure_at is not None and last_claimed <= endpoint.last_failure_at:
        return  # in flight when the last failure was counted: the same outage
    endpoint.failures += 1
    endpoint.last_failure_at = now
    endpoint.failing_since = endpoint.failing_since or now
    over = endpoint.failures - settings.webhook_failure_threshold
    doubled = settings.webhook_pause_seconds * 2 ** min(max(over, 0), 30)
    wait = min(doubled, settings.webhook_max_pause_seconds)
    endpoint.probe_at = now + timedelta(seconds=wait)
    endpoint.paused_until = endpoint.probe_at if over >= 0 else None
    if not endpoint.enabled:
        return
    if now - endpoint.failing_since >= timedelta(hours=settings.webhook_disable_after_hours):
        await alerts.disable_failing(session, endpoint, error, now)
    elif over == 0:
        await alerts.paused(session, endpoint, error, now)


async def closed(session: AsyncSession, endpoint_ids: set[uuid.UUID], now: datetime) -> None:
    """These endpoints answered: their circuits close. A paused one resumes, and what its outage
    held back goes now rather than at each delivery's next turn in the retry schedule."""
    if not endpoint_ids:
        return
    failing = (
        await session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.failures > 0)
            .with_for_update()
        )
    ).scalars()
    resumed = []
    for endpoint in failing:
        if endpoint.paused_until is not None:
            resumed.append(endpoint.id)
            await alerts.resumed(session, endpoint)
        reset(endpoint)
    if resumed:
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id.in_(resumed),
                WebhookDelivery.status == "retrying",
                WebhookDelivery.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
        )


def reset(endpoint: WebhookEndpoint) -> None:
    endpoint.failures = 0
    endpoint.last_failure_at = endpoint.probe_at = endpoint.paused_until = endpoint.failing_since = None


async def paused_endpoints(session: AsyncSession) -> int:
    """Enabled endpoints of any tenant whose circuit is open (for /metrics)."""
    query = select(func.count()).where(WebhookEndpoint.enabled, WebhookEndpoint.paused_until.is_not(None))
    return await session.scalar(query) or 0
