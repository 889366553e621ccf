"""Webhook delivery: events fanned out to 10 endpoints by 2 `frontdesk worker` processes, signed and
POSTed to a local receiver; next to the baseline of the same signed POSTs sent straight from one
process (no database, no queue), in the same run.

1. Burst: N events committed at once; events/s and deliveries/s until the receiver has them all.
2. Steady: events committed one per transaction at a fixed rate (200/s), to 1 endpoint and to 10;
   latency from each event's commit to its arrival at the receiver, p50/p95/p99. (200 events/s to
   10 endpoints is 2,000 requests/s: past what this machine delivers with the receiver, PostgreSQL
   and both workers on its two cores, so that line shows a queue building.)

Usage: python bench/event_delivery.py [--events 2000] [--rate 200] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.core.crypto import KeyRing  # noqa: E402
from backend.events import signing_secrets  # noqa: E402
from backend.events.models import WebhookEndpoint  # noqa: E402
from backend.events.sender import Request, signature_headers  # noqa: E402
from bench.common import free_port, insert_tenant, percentile, prepare_services, start_http  # noqa: E402
from bench.outbox import start, stop  # noqa: E402

ENDPOINTS = 10
WORKERS = 2
DATA = {
    "appointment_id": str(uuid.uuid4()),
    "reference": "K7M2QX",
    "customer_id": str(uuid.uuid4()),
    "provider_id": str(uuid.uuid4()),
    "service_id": str(uuid.uuid4()),
    "starts_at": "2026-12-03T15:30:00Z",
    "ends_at": "2026-12-03T16:00:00Z",
    "status": "booked",
}


async def received(http: httpx.AsyncClient, base: str) -> list[dict]:
    return (await http.get(f"{base}/_received", timeout=30)).json()


async def setup(
    connection: asyncpg.Connection, keys: str, receiver: str, endpoints: int = ENDPOINTS
) -> tuple[uuid.UUID, list[str]]:
    tenant = await insert_tenant(connection)
    ring, secrets = KeyRing.parse(keys), []
    for n in range(endpoints):
        endpoint = WebhookEndpoint(id=uuid.uuid4())
        secret = signing_secrets.new()
        secrets.append(secret)
        await connection.execute(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, secret) VALUES ($1, $2, $3, $4)",
            endpoint.id,
            tenant,
            f"{receiver}/hooks?endpoint={n}",
            signing_secrets.seal(ring, endpoint, secret),
        )
    return tenant, secrets


async def insert_events(connection: asyncpg.Connection, tenant: uuid.UUID, count: int) -> None:
    await connection.execute(
        "INSERT INTO domain_events (tenant_id, type, version, entity_type, entity_id, data) "
        "SELECT $1, 'booking.created', 1, 'appointment', gen_random_uuid()::text, $2::jsonb "
        "FROM generate_series(1, $3)",
        tenant,
        json.dumps(DATA),
        count,
    )


async def wait_for(http: httpx.AsyncClient, base: str, count: int, limit: float) -> list[dict]:
    deadline = time.monotonic() + limit
    while True:
        got = await received(http, base)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.2)


async def burst(database_url: str, env: dict[str, str], receiver: str, count: int) -> None:
    connection = await asyncpg.connect(database_url)
    tenant, _ = await setup(connection, env["SECRETS_KEYS"], receiver)
    workers = [start([sys.executable, "-m", "backend.cli", "worker"], env) for _ in range(WORKERS)]
    async with httpx.AsyncClient() as http:
        try:
            await asyncio.sleep(5)  # start-up: LISTEN open, pumps waiting
            before = len(await received(http, receiver))
            committed = time.time()
            await insert_events(connection, tenant, count)
            got = await wait_for(http, receiver, before + count * ENDPOINTS, 300)
        finally:
            stop(workers)
            await connection.close()
    arrivals = [r["at"] for r in got[before:]]
    elapsed = max(arrivals) - committed
    delivered = len(arrivals)
    print(
        f"  burst: {count} events x {ENDPOINTS} endpoints, {WORKERS} workers   "
        f"{count / elapsed:8.1f} events/s   {delivered / elapsed:8.1f} deliveries/s   "
        f"({delivered} delivered in {elapsed:.1f} s)",
        flush=True,
    )


async def steady(
    database_url: str, env: dict[str, str], receiver: str, rate: int, seconds: int, endpoints: int
) -> None:
    connection = await asyncpg.connect(database_url)
    tenant, _ = await setup(connection, env["SECRETS_KEYS"], receiver, endpoints)
    workers = [start([sys.executable, "-m", "backend.cli", "worker"], env) for _ in range(WORKERS)]
    committed: dict[str, float] = {}
    async with httpx.AsyncClient() as http:
        try:
            await asyncio.sleep(5)
            before = len(await received(http, receiver))
            started = time.monotonic()
            for n in range(rate * seconds):
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                event_id = await connection.fetchval(
                    "INSERT INTO domain_events (tenant_id, type, version, entity_type, entity_id, data) "
                    "VALUES ($1, 'booking.created', 1, 'appointment', gen_random_uuid()::text, $2::jsonb) "
                    "RETURNING id",
                    tenant,
                    json.dumps(DATA),
                )
                committed[f"evt_{event_id}"] = time.time()
            offered = len(committed) / (time.monotonic() - started)
            got = await wait_for(http, receiver, before + len(committed) * endpoints, 120)
        finally:
            stop(workers)
            await connection.close()
    latencies = [r["at"] - committed[r["id"]] for r in got[before:] if r["id"] in committed]
    print(
        f"  steady: {offered:.0f} events/s x {endpoints:>2} endpoint{'s' if endpoints > 1 else ' '}, "
        f"{WORKERS} workers  "
        f"commit -> delivered p50 {percentile(latencies, 50) * 1000:7.1f} ms   "
        f"p95 {percentile(latencies, 95) * 1000:7.1f} ms   p99 {percentile(latencies, 99) * 1000:7.1f} ms   "
        f"({len(latencies)} of {len(committed) * endpoints} delivered)",
        flush=True,
    )


async def baseline(receiver: str, count: int) -> None:
    """The same signed POSTs straight from one process (aiohttp, 100 at a time, as the pump sends
    them): the ceiling without a database or a queue."""
    secret = signing_secrets.new()
    body = json.dumps({"type": "booking.created", "data": DATA})
    limit = asyncio.Semaphore(100)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:

        async def post(n: int) -> None:
            request = Request(f"{receiver}/hooks?endpoint={n % ENDPOINTS}", f"base_{n}", body, (secret,))
            headers = signature_headers(request, datetime.now(UTC))
            async with limit, http.post(request.url, data=body.encode(), headers=headers) as response:
                await response.read()

        started = time.monotonic()
        await asyncio.gather(*(post(n) for n in range(count)))
        elapsed = time.monotonic() - started
    print(
        f"  baseline: {count} signed POSTs from one process, no queue   {count / elapsed:8.1f} deliveries/s",
        flush=True,
    )


def main(events: int, rate: int, seconds: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    _, database_url, redis_url = prepare_services(data_dir)
    port = free_port()
    receiver_process, receiver = start_http(
        [sys.executable, "-m", "tests.fakes.webhook_receiver", str(port)], port
    )
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ADMIN_SECRET": "bench",
        "SECRETS_KEYS": KeyRing.new_key(),
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
    }
    try:
        print(f"Webhooks to a local receiver (uvicorn), {ENDPOINTS} endpoints, 2 cores", flush=True)
        asyncio.run(baseline(receiver, events * ENDPOINTS))
        asyncio.run(burst(database_url, env, receiver, events))
        for endpoints in (1, ENDPOINTS):
            asyncio.run(steady(database_url, env, receiver, rate, seconds, endpoints))
    finally:
        stop([receiver_process])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=15)
    arguments = parser.parse_args()
    main(arguments.events, arguments.rate, arguments.seconds)
