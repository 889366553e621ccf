"""The delivery queue's steps: claim what is due, build each request, record what happened.

    pending ──claim──> sending ──2xx──> delivered
                          ├──error──> retrying ──(the schedule: 30 s … 1 day)──> claimed again
                          ├──error, schedule spent (about three days)──> failed
                          └──lease passes (the worker died)──> claimed again

Claiming commits before any request goes out (the row is `sending` under a lease). Per endpoint
only a few requests are in flight at once. Each endpoint has a circuit:

- A failure counts once per round: requests that were in flight together when the receiver went
  down (a burst) fail together and count as one, so `failures` counts the receiver's outages and
  probes, not the deliveries queued for it.
- While it fails, one request at a time probes it whenever nothing else is due (every
  `webhook_pause_seconds`, doubling up to `webhook_max_pause_seconds`, a minute at most by
  default); past `webhook_failure_threshold` failures the circuit is open (the endpoint is paused):
  only the probes go, and the clinic's owners are told. A probe is the oldest queued delivery, due
  or not; its failure costs that delivery no attempt (the receiver's outage failed, not it).
- The first success closes the circuit and brings every delivery held back by the outage forward:
  the endpoint is back to full speed within a probe interval of the receiver recovering.

Failing without a single success for `webhook_disable_after_hours` disables the endpoint, with an
alert to the clinic and a `webhook_endpoint.disabled` event.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.settings import Settings
from backend.events import circuits, payloads, signing_secrets
from backend.events.models import WebhookDelivery, WebhookEndpoint
from backend.events.sender import Answer, Request

_CLAIM = text(
    """
    SELECT d.id, d.probe FROM webhook_endpoints e
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM webhook_deliveries s
        WHERE s.endpoint_id = e.id AND s.status = 'sending' AND s.lease_until > :now
    ) busy
    CROSS JOIN LATERAL (
        SELECT e.failures > 0 AND e.probe_at <= :now AND busy.n = 0 AS due
    ) probe
    CROSS JOIN LATERAL (
        SELECT d.id, (e.failures >= :threshold OR d.next_attempt_at > :now) AS probe
        FROM webhook_deliveries d
        WHERE d.endpoint_id = e.id
          AND ((d.status IN ('pending', 'retrying') AND (d.next_attempt_at <= :now OR probe.due))
               OR (d.status = 'sending' AND d.lease_until <= :now))
        ORDER BY d.next_attempt_at
        LIMIT GREATEST(
            CASE WHEN e.failures >= :threshold OR probe.due THEN 1 ELSE :per_endpoint END - busy.n, 0
        )
        FOR UPDATE OF d SKIP LOCKED
    ) d
    WHERE e.enabled AND (e.failures < :threshold OR probe.due)
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    attempts: int
    request: Request
    # When it was claimed: a failure counts only if no failure was counted since (see `record`).
    claimed_at: datetime
    # Sent to find out whether the endpoint works again: failing costs the delivery no attempt.
    probe: bool = False


async def claim(session: AsyncSession, settings: Settings, now: datetime, limit: int) -> list[Claimed]:
    """Mark up to `limit` due deliveries `sending` and build their requests."""
    if limit <= 0:
        return []
    claimed = await session.execute(
        _CLAIM,
        {
            "now": now,
            "threshold": settings.webhook_failure_threshold,
            "per_endpoint": settings.webhook_endpoint_concurrency,
            "limit": limit,
        },
    )
    probes: dict[uuid.UUID, bool] = {row_id: probe for row_id, probe in claimed}
    if not probes:
        return []
    ids = list(probes)
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
    return await build_requests(session, settings, list(rows), now, probes)


async def build_requests(
    session: AsyncSession,
    settings: Settings,
    rows: list[WebhookDelivery],
    now: datetime,
    probes: dict[uuid.UUID, bool] | None = None,
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
            now,
            bool(probes and probes[row.id]),
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
        attempts = v.kept_attempts, lease_until = NULL, response_status = v.response_status,
        response_body = v.response_body, latency_ms = v.latency_ms, error = v.error,
        delivered_at = v.delivered_at
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:attempts AS int[]), CAST(:kept_attempts AS int[]),
        CAST(:statuses AS text[]), CAST(:next_attempts AS timestamptz[]),
        CAST(:response_statuses AS int[]), CAST(:bodies AS text[]), CAST(:latencies AS int[]),
        CAST(:errors AS text[]), CAST(:delivered AS timestamptz[])
    ) AS v(id, attempts, kept_attempts, status, next_attempt_at, response_status, response_body,
           latency_ms, error, delivered_at)
    -- Only the claim that is still current may write: a row presumed dead and claimed again
    -- belongs to the newer attempt.
    WHERE d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempts
    RETURNING d.id
    """
)


async def record(
    session: AsyncSession, settings: Settings, outcomes: list[tuple[Claimed, Answer]], now: datetime
) -> None:
    """Write the answers in one statement, then each endpoint's circuit: any success closes it."""
    if not outcomes:
        return
    columns: dict[str, list[object]] = {
        name: []
        for name in (
            "ids",
            "attempts",
            "kept_attempts",
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
        held_back = claimed.probe and status == "retrying"
        if held_back:  # the outage failed, not the delivery: its schedule stays where it was
            next_attempt = None
        for name, value in (
            ("ids", claimed.id),
            ("attempts", claimed.attempts),
            ("kept_attempts", claimed.attempts - 1 if held_back else claimed.attempts),
            ("statuses", status),
            ("next_attempts", next_attempt),
            ("response_statuses", answer.status),
            ("bodies", answer.body),
            ("latencies", answer.latency_ms),
            ("errors", answer.error),
            ("delivered", now if answer.ok else None),
        ):
            columns[name].append(value)
    written = set((await session.execute(_RECORD, columns)).scalars())
    current = [(claimed, answer) for claimed, answer in outcomes if claimed.id in written]
    succeeded = {claimed.endpoint_id for claimed, answer in current if answer.ok}
    await circuits.closed(session, succeeded, now)
    failed: dict[uuid.UUID, list[tuple[Claimed, Answer]]] = {}
    for claimed, answer in current:
        if not answer.ok and claimed.endpoint_id not in succeeded:
            failed.setdefault(claimed.endpoint_id, []).append((claimed, answer))
    for endpoint_id, failures in failed.items():
        last_claimed = max(claimed.claimed_at for claimed, _ in failures)
        error = failures[-1][1].error or "no answer"
        await circuits.failed(session, settings, endpoint_id, last_claimed, error, now)


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


async def purge_pings(session: AsyncSession, before: datetime) -> int:
    """Pings have no event to be purged with; they leave the log at the same age."""
    result = await session.execute(
        text("DELETE FROM webhook_deliveries WHERE event_id IS NULL AND created_at < :before"),
        {"before": before},
    )
    return result.rowcount or 0
