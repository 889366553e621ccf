"""The delivery queue's steps: claim what is due, build each request, record what happened.

    pending ──claim──> sending ──2xx──> delivered
                          ├──error──> retrying ──(the schedule: 30 s … 1 day)──> claimed again
                          ├──error, schedule spent (about three days)──> failed
                          └──lease passes (the worker died)──> claimed again

Claiming commits before any request goes out (the row is `sending` under a lease). Per endpoint
only a few requests are in flight at once, and an endpoint whose circuit is open (failures in a
row) is skipped until its pause ends, then probed with one request: a dead endpoint costs the
others nothing. Failing without a single success for `webhook_disable_after_hours` disables it,
with an alert to the clinic and a `webhook_endpoint.disabled` event.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.settings import Settings
from backend.events import alerts, payloads, signing_secrets
from backend.events.models import WebhookDelivery, WebhookEndpoint
from backend.events.sender import Answer, Request

_CLAIM = text(
    """
    SELECT d.id FROM webhook_endpoints e
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM webhook_deliveries s
        WHERE s.endpoint_id = e.id AND s.status = 'sending' AND s.lease_until > :now
    ) busy
    CROSS JOIN LATERAL (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.endpoint_id = e.id
          AND ((d.status IN ('pending', 'retrying') AND d.next_attempt_at <= :now)
               OR (d.status = 'sending' AND d.lease_until <= :now))
        ORDER BY d.next_attempt_at
        LIMIT GREATEST(CASE WHEN e.failures >= :threshold THEN 1 ELSE :per_endpoint END - busy.n, 0)
        FOR UPDATE OF d SKIP LOCKED
    ) d
    WHERE e.enabled AND (e.paused_until IS NULL OR e.paused_until <= :now)
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    attempts: int
    request: Request


async def claim(session: AsyncSession, settings: Settings, now: datetime, limit: int) -> list[Claimed]:
    """Mark up to `limit` due deliveries `sending` and build their requests."""
    if limit <= 0:
        return []
    ids = list(
        (
            await session.execute(
                _CLAIM,
                {
                    "now": now,
                    "threshold": settings.webhook_failure_threshold,
                    "per_endpoint": settings.webhook_endpoint_concurrency,
                    "limit": limit,
                },
            )
        ).scalars()
    )
    if not ids:
        return []
    lease = timedelta(seconds=settings.webhook_timeout_seconds + 60)
    rows = (
        (
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(status="sending", attempts=WebhookDelivery.attempts + 1, lease_until=now + lease)
                .returning(WebhookDelivery)
            )
        )
        .scalars()
        .all()
    )
    return await build_requests(session, settings, list(rows), now)


async def build_requests(
    session: AsyncSession, settings: Settings, rows: list[WebhookDelivery], now: datetime
) -> list[Claimed]:
    endpoints = {
        endpoint.id: endpoint
        for endpoint in (
            await session.execute(
                select(WebhookEndpoint).where(WebhookEndpoint.id.in_({row.endpoint_id for row in rows}))
            )
        ).scalars()
    }
    bodies = await payloads.bodies(session, rows, endpoints)
    ring = settings.key_ring
    return [
        Claimed(
            row.id,
            row.endpoint_id,
            row.attempts,
            Request(
                endpoints[row.endpoint_id].url,
                row.message_id,
                bodies[row.id],
                signing_secrets.live(ring, endpoints[row.endpoint_id], now),
            ),
        )
        for row in rows
    ]


def retry_delay(settings: Settings, attempts: int) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones; None once the schedule is spent."""
    schedule = settings.webhook_retry_schedule_seconds
    if attempts > len(schedule):
        return None
    return schedule[attempts - 1] * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography


async def record(
    session: AsyncSession, settings: Settings, outcomes: list[tuple[Claimed, Answer]], now: datetime
) -> None:
    """Write the answers, then each endpoint's health: any success closes its circuit."""
    health: dict[uuid.UUID, list[Answer]] = {}
    for claimed, answer in outcomes:
        row = (
            await session.execute(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.id,
                    WebhookDelivery.status == "sending",
                    WebhookDelivery.attempts == claimed.attempts,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            continue  # presumed dead and claimed again: the newer attempt owns the row
        write_answer(row, answer, settings, now)
        health.setdefault(claimed.endpoint_id, []).append(answer)
    for endpoint_id, results in health.items():
        await _endpoint_health(session, settings, endpoint_id, results, now)


def write_answer(row: WebhookDelivery, answer: Answer, settings: Settings, now: datetime) -> None:
    write_outcome(row, answer, now)
    if answer.ok:
        return
    delay = None if answer.permanent else retry_delay(settings, row.attempts)
    if delay is None:
        row.status = "failed"
    else:
        row.status = "retrying"
        row.next_attempt_at = now + timedelta(seconds=delay)


def write_outcome(row: WebhookDelivery, answer: Answer, now: datetime) -> None:
    """What the receiver said, for the log; a success is final."""
    row.lease_until = None
    row.response_status = answer.status
    row.response_body = answer.body
    row.latency_ms = answer.latency_ms
    row.error = answer.error
    if answer.ok:
        row.status, row.delivered_at = "delivered", now


async def _endpoint_health(
    session: AsyncSession, settings: Settings, endpoint_id: uuid.UUID, answers: list[Answer], now: datetime
) -> None:
    endpoint = await session.get_one(WebhookEndpoint, endpoint_id, with_for_update=True)
    if any(answer.ok for answer in answers):
        endpoint.failures, endpoint.paused_until, endpoint.failing_since = 0, None, None
        return
    endpoint.failures += len(answers)
    endpoint.failing_since = endpoint.failing_since or now
    over = endpoint.failures - settings.webhook_failure_threshold
    if over >= 0:
        pause = min(settings.webhook_pause_seconds * 2 ** min(over, 30), settings.webhook_max_pause_seconds)
        endpoint.paused_until = now + timedelta(seconds=pause)
    if endpoint.enabled and now - endpoint.failing_since >= timedelta(
        hours=settings.webhook_disable_after_hours
    ):
        await alerts.disable_failing(session, endpoint, answers[-1].error or "no answer", now)
