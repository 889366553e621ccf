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


_RECORD = text(
    """
    UPDATE webhook_deliveries d
    SET status = v.status, next_attempt_at = coalesce(v.next_attempt_at, d.next_attempt_at),
        lease_until = NULL, response_status = v.response_status, response_body = v.response_body,
        latency_ms = v.latency_ms, error = v.error, delivered_at = v.delivered_at
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:statuses AS text[]),
        CAST(:next_attempts AS timestamptz[]), CAST(:response_statuses AS int[]),
        CAST(:bodies AS text[]), CAST(:latencies AS int[]), CAST(:errors AS text[]),
        CAST(:delivered AS timestamptz[])
    ) AS v(id, attempts, status, next_attempt_at, response_status, response_body, latency_ms, error,
           delivered_at)
    -- Only the claim that is still current may write: a row presumed dead and claimed again
    -- belongs to the newer attempt.
    WHERE d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempts
    RETURNING d.endpoint_id, v.status = 'delivered' AS ok, v.error
    """
)


async def record(
    session: AsyncSession, settings: Settings, outcomes: list[tuple[Claimed, Answer]], now: datetime
) -> None:
    """Write the answers in one statement, then each endpoint's health: any success closes its
    circuit."""
    if not outcomes:
        return
    columns: dict[str, list[object]] = {
        name: []
        for name in (
            "ids",
            "attempts",
            "statuses",
            "next_attempts",
            "response_statuses",
            "bodies",
            "latencies",
            "errors",
            "delivered",
        )
    }
    for claimed, answer in outcomes:
        status, next_attempt = next_state(settings, answer, claimed.attempts, now)
        for name, value in (
            ("ids", claimed.id),
            ("attempts", claimed.attempts),
            ("statuses", status),
            ("next_attempts", next_attempt),
            ("response_statuses", answer.status),
            ("bodies", answer.body),
            ("latencies", answer.latency_ms),
            ("errors", answer.error),
            ("delivered", now if answer.ok else None),
        ):
            columns[name].append(value)
    written = (await session.execute(_RECORD, columns)).all()
    succeeded = {endpoint_id for endpoint_id, ok, _ in written if ok}
    if succeeded:
        await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id.in_(succeeded),
                (WebhookEndpoint.failures > 0) | WebhookEndpoint.failing_since.is_not(None),
            )
            .values(failures=0, paused_until=None, failing_since=None)
        )
    failed: dict[uuid.UUID, list[str]] = {}
    for endpoint_id, ok, error in written:
        if not ok and endpoint_id not in succeeded:
            failed.setdefault(endpoint_id, []).append(error or "no answer")
    for endpoint_id, errors in failed.items():
        await _count_failures(session, settings, endpoint_id, errors, now)


def next_state(
    settings: Settings, answer: Answer, attempts: int, now: datetime
) -> tuple[str, datetime | None]:
    """A delivery's status after this answer, and when it is tried again."""
    if answer.ok:
        return "delivered", None
    delay = None if answer.permanent else retry_delay(settings, attempts)
    if delay is None:
        return "failed", None
    return "retrying", now + timedelta(seconds=delay)


def write_outcome(row: WebhookDelivery, answer: Answer, now: datetime) -> None:
    """What the receiver said, for the log; a success is final."""
    row.lease_until = None
    row.response_status = answer.status
    row.response_body = answer.body
    row.latency_ms = answer.latency_ms
    row.error = answer.error
    if answer.ok:
        row.status, row.delivered_at = "delivered", now


async def _count_failures(
    session: AsyncSession, settings: Settings, endpoint_id: uuid.UUID, errors: list[str], now: datetime
) -> None:
    endpoint = await session.get_one(WebhookEndpoint, endpoint_id, with_for_update=True)
    endpoint.failures += len(errors)
    endpoint.failing_since = endpoint.failing_since or now
    over = endpoint.failures - settings.webhook_failure_threshold
    if over >= 0:
        pause = min(settings.webhook_pause_seconds * 2 ** min(over, 30), settings.webhook_max_pause_seconds)
        endpoint.paused_until = now + timedelta(seconds=pause)
    failing_for = now - endpoint.failing_since
    if endpoint.enabled and failing_for >= timedelta(hours=settings.webhook_disable_after_hours):
        await alerts.disable_failing(session, endpoint, errors[-1], now)


async def purge_pings(session: AsyncSession, before: datetime) -> int:
    """Pings have no event to be purged with; they leave the log at the same age."""
    result = await session.execute(
        text("DELETE FROM webhook_deliveries WHERE event_id IS NULL AND created_at < :before"),
        {"before": before},
    )
    return result.rowcount or 0
