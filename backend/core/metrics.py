"""Prometheus metrics (`prometheus-client`), served at `/metrics` by the API and, when
`WORKER_METRICS_PORT` is set, by each worker on its own port.

What is counted where it happens (HTTP requests, chat turns, bookings and lost races, sends by
provider, inbound webhooks, worker jobs, 503s for a database outage, Redis unreachable) lives here as
module-level instruments; what is a state of the database (outbox depth and oldest age by status,
messages due and unsent, open circuits, the workers' heartbeats, paused webhook endpoints) is read
when scraped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_LATENCY = Histogram(
    "frontdesk_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
CHAT_TURNS = Counter("frontdesk_chat_turns_total", "Receptionist turns", ["engine", "channel", "understood"])
CHAT_TURN_LATENCY = Histogram(
    "frontdesk_chat_turn_duration_seconds", "Receptionist turn latency", ["engine"], buckets=LATENCY_BUCKETS
)
BOOKINGS = Counter("frontdesk_bookings_total", "Booking attempts by result", ["result"])
# Serialization failures and deadlocks re-run from the start, and re-runs that had to run alone.
TRANSACTION_RETRIES = Counter("frontdesk_transaction_retries_total", "Transactions re-run", ["sqlstate"])
TRANSACTIONS_ALONE = Counter("frontdesk_transactions_alone_total", "Gated transactions re-run alone")
# result: sent, failed, opted_out, unknown (no answer: reconciled later); and for rows whose outcome
# was unknown, what the provider said: found (it had gone) or not_found (it goes again).
SENDS = Counter(
    "frontdesk_messages_sent_total", "Outbox sends by provider and result", ["provider", "result"]
)
OUTBOX_UNRECORDED = Gauge(
    "frontdesk_outbox_unrecorded_outcomes", "Send outcomes held in memory until the database takes them"
)
INBOUND_WEBHOOKS = Counter("frontdesk_inbound_webhooks_total", "Twilio webhooks received", ["kind", "status"])
JOB_LATENCY = Histogram(
    "frontdesk_worker_job_duration_seconds", "Worker jobs by kind", ["job"], buckets=LATENCY_BUCKETS
)
OUTBOX_DEPTH = Gauge("frontdesk_outbox_messages", "Outbox rows by status", ["status"])
OUTBOX_OLDEST = Gauge(
    "frontdesk_outbox_oldest_age_seconds", "Age of the oldest outbox row by status", ["status"]
)
# Messages due and not sent (over every tenant), and how long the oldest has waited since it was due.
OUTBOX_DUE = Gauge("frontdesk_outbox_due_messages", "Outbox messages due and not yet sent")
OUTBOX_DUE_OLDEST = Gauge(
    "frontdesk_outbox_due_oldest_seconds", "How long the oldest message due and not sent has waited"
)
# From the workers' heartbeats in PostgreSQL, so the API reports a worker that is dead or stuck.
WORKERS_ALIVE = Gauge(
    "frontdesk_workers_alive", "Worker processes whose sweep ran in the last three intervals"
)
WORKER_LAST_BEAT = Gauge(
    "frontdesk_worker_heartbeat_age_seconds", "Seconds since any worker's sweep last ran (+Inf: never)"
)
CIRCUIT_OPEN = Gauge("frontdesk_provider_circuit_open", "1 while a provider's circuit is open", ["provider"])
# The API answering 503 because PostgreSQL is away (code: DATABASE_UNAVAILABLE, OUTCOME_UNKNOWN).
DATABASE_UNAVAILABLE = Counter(
    "frontdesk_database_unavailable_total", "Requests answered 503: PostgreSQL unreachable", ["code"]
)
# This process cannot reach Redis (it fails open): client is `rate_limits` or `live`.
REDIS_UNAVAILABLE = Gauge("frontdesk_redis_unavailable", "1 while Redis cannot be reached", ["client"])
WEBHOOK_ENDPOINTS_PAUSED = Gauge(
    "frontdesk_webhook_endpoints_paused", "Enabled webhook endpoints paused after failing (circuit open)"
)


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    began = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(**labels).observe(time.perf_counter() - began)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class HttpMetricsMiddleware:
    """Latency per route template (`/api/v1/bookings/{ident}`), never per raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            HTTP_LATENCY.labels(scope.get("method", ""), template, str(status)).observe(
                time.perf_counter() - began
            )
