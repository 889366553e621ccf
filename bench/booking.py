"""Booking throughput and contention, measured in one run on the embedded database.

1. Uncontended bookings/s: through the HTTP API (a `frontdesk serve` process, real TCP) with all
   lanes in one tenant (its booking writes are ordered by the tenant gate) and with a tenant per
   lane; through the booking service in-process; and a raw asyncpg INSERT into the same
   appointments table (the baseline: the ratio to it is what our checks, locks and transactions cost).
2. 200 concurrent bookers on one slot through the HTTP API: winners (must be 1), latency, errors.

Usage: python bench/booking.py [--bookings 400] [--concurrency 8] [--contenders 200]
With DATABASE_URL set it uses that server instead of the embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.core.context import Caller, TenantContext  # noqa: E402
from backend.core.db import Database  # noqa: E402
from backend.core.settings import Settings  # noqa: E402
from backend.scheduling import booking  # noqa: E402
from backend.scheduling.schemas import BookingCreate  # noqa: E402
from bench import client_floor  # noqa: E402
from bench.common import ADMIN_SECRET, ALL_DAY, percentile, prepare_services, start_server  # noqa: E402

TZ = ZoneInfo("America/New_York")


async def create_tenant(base: str, providers: int) -> dict:
    spec = {
        "name": "Bench Clinic",
        "slug": f"bench-{uuid.uuid4().hex[:10]}",
        "timezone": "America/New_York",
        "settings": {"min_lead_minutes": 0, "max_days_ahead": 730, "slot_step_minutes": 5},
        "providers": [{"name": f"Provider {i}", "hours": ALL_DAY} for i in range(providers)],
        "services": [{"name": "Visit", "duration_minutes": 5}],
    }
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        response = await http.post("/api/v1/tenants", json=spec, headers={"X-Admin-Secret": ADMIN_SECRET})
        response.raise_for_status()
        return response.json()


def slot(lane: int, n: int, first_day: datetime) -> datetime:
    """The n-th distinct 5-minute slot of lane `lane`; lanes never share a provider-day.

    Arithmetic on UTC instants, and at most 22.5 hours a day, so DST nights stay inside opening hours.
    """
    day = first_day.astimezone(UTC) + timedelta(days=lane * 40 + n // 270)
    return day + timedelta(minutes=5 * (n % 270))


async def run_lanes(
    concurrency: int, per_lane: int, book_one, first: int = 0
) -> tuple[float, list[float], Counter]:
    latencies: list[float] = []
    outcomes: Counter = Counter()

    async def lane(index: int) -> None:
        for n in range(first, first + per_lane):
            started = time.perf_counter()
            outcomes[await book_one(index, n)] += 1
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(lane(i) for i in range(concurrency)))
    return time.perf_counter() - started, latencies, outcomes


def report(label: str, elapsed: float, latencies: list[float], outcomes: Counter) -> float:
    rate = len(latencies) / elapsed
    print(
        f"  {label:<28} {rate:8.1f} bookings/s   p50 {percentile(latencies, 50):6.2f} ms   "
        f"p99 {percentile(latencies, 99):6.2f} ms   {dict(outcomes)}"
    )
    return rate


@dataclass(frozen=True)
class Retries:
    """The server's own count of transactions re-run (serialization failures, deadlocks) and of
    re-runs that had to run alone."""

    rerun: float
    alone: float

    def __sub__(self, other: Retries) -> str:
        rerun, alone = self.rerun - other.rerun, self.alone - other.alone
        return f"transactions re-run: {rerun:.0f}, of them alone: {alone:.0f}"


async def retries(http: httpx.AsyncClient) -> Retries:
    text = (await http.get("/metrics")).text
    rerun = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("frontdesk_transaction_retries_total{")
    )
    alone = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("frontdesk_transactions_alone_total ")
    )
    return Retries(rerun, alone)


async def uncontended(
    base: str, settings: Settings, bookings: int, concurrency: int, first_day: datetime
) -> None:
    per_lane = bookings // concurrency
    lanes = f"{concurrency} concurrent lanes"
    print(f"\n(1) uncontended: {per_lane * concurrency} bookings, {lanes}, distinct slots")

    one_tenant = await create_tenant(base, concurrency)
    own_tenants = [await create_tenant(base, 1) for _ in range(concurrency)]
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:

        def via_api(tenant_of_lane, provider_of_lane):
            async def book_one(lane: int, n: int) -> str:
                tenant = tenant_of_lane(lane)
                response = await http.post(
                    "/api/v1/bookings",
                    headers={"Authorization": f"Bearer {tenant['api_key']['key']}"},
                    json={
                        "service_id": tenant["services"][0]["id"],
                        "provider_id": provider_of_lane(lane),
                        "starts_at": slot(lane, n, first_day).isoformat(),
                        "customer": {"name": "Bench", "phone": f"+1617555{lane:02d}{n % 100:02d}"},
                    },
                )
                return str(response.status_code)

            return book_one

        same = via_api(lambda lane: one_tenant, lambda lane: one_tenant["providers"][lane]["id"])
        spread = via_api(lambda lane: own_tenants[lane], lambda lane: own_tenants[lane]["providers"][0]["id"])
        before = await retries(http)
        # In turns, half each at a time, so neither has the server warmer or the machine quieter.
        runs: dict[str, list] = {"one": [0.0, [], Counter()], "spread": [0.0, [], Counter()]}
        for turn in range(2):
            for name, book_one in (("one", same), ("spread", spread)):
                elapsed, latencies, outcomes = await run_lanes(
                    concurrency, per_lane // 2, book_one, first=turn * (per_lane // 2)
                )
                runs[name][0] += elapsed
                runs[name][1] += latencies
                runs[name][2] += outcomes
        api_rate = report("HTTP API, one tenant", *runs["one"])
        report("HTTP API, a tenant per lane", *runs["spread"])
        print(f"    both: {await retries(http) - before}")

    service_tenant = await create_tenant(base, concurrency)
    db = Database(settings)

    async def load_context(session):
        from backend.tenants.models import Tenant

        return TenantContext.of(await session.get_one(Tenant, uuid.UUID(service_tenant["tenant"]["id"])))

    caller = Caller(tenant=await db.transaction(load_context), actor="bench", correlation_id="bench")
    s_providers = [uuid.UUID(p["id"]) for p in service_tenant["providers"]]
    s_service = uuid.UUID(service_tenant["services"][0]["id"])

    async def via_service(lane: int, n: int) -> str:
        data = BookingCreate(
            service_id=s_service,
            provider_id=s_providers[lane],
            starts_at=slot(lane, n, first_day),
            customer={"name": "Bench", "phone": f"+1617555{lane:02d}{n % 100:02d}"},
        )
        now = datetime.now(UTC)
        await db.transaction(
            lambda s: booking.book(s, caller, data, now),
            isolation="SERIALIZABLE",
            gate=booking.gate_for_booking(caller.tenant, data),
        )
        return "ok"

    cpu_started = time.process_time()
    with client_floor.counting_statements(db) as statements:
        service_rate = report("service, one tenant", *await run_lanes(concurrency, per_lane, via_service))
    bookings = per_lane * concurrency
    service_cpu_ms = (time.process_time() - cpu_started) * 1000 / bookings
    floor = await client_floor.measure(db, statements[0] / bookings)
    await db.dispose()

    raw_tenant = await create_tenant(base, concurrency)
    raw_url = (
        make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    pool = await asyncpg.create_pool(raw_url, min_size=concurrency, max_size=concurrency)
    tenant_id = uuid.UUID(raw_tenant["tenant"]["id"])
    r_providers = [uuid.UUID(p["id"]) for p in raw_tenant["providers"]]
    r_service = uuid.UUID(raw_tenant["services"][0]["id"])
    customer_id = await pool.fetchval(
        "INSERT INTO customers (id, tenant_id, name, phone)"
        " VALUES ($1, $2, 'Bench', '+16175550199') RETURNING id",
        uuid.uuid4(),
        tenant_id,
    )

    async def raw_insert(lane: int, n: int) -> str:
        start = slot(lane, n, first_day)
        await pool.execute(
            "INSERT INTO appointments (id, tenant_id, reference, provider_id, service_id, customer_id,"
            " starts_at, ends_at, blocked_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            uuid.uuid4(),
            tenant_id,
            uuid.uuid4().hex[:12].upper(),
            r_providers[lane],
            r_service,
            customer_id,
            start,
            start + timedelta(minutes=5),
        )
        return "ok"

    raw_rate = report("raw asyncpg INSERT (baseline)", *await run_lanes(concurrency, per_lane, raw_insert))
    await pool.close()
    service_cost, api_cost = raw_rate / service_rate, raw_rate / api_rate
    print(f"  time per booking vs baseline: service {service_cost:.1f}x, API {api_cost:.1f}x")
    print(floor.report(service_cpu_ms, raw_rate))


async def contended(base: str, contenders: int, first_day: datetime) -> None:
    print(f"\n(2) {contenders} concurrent bookers on one slot through the HTTP API")
    tenant = await create_tenant(base, 1)
    service = tenant["services"][0]["id"]
    start = (first_day + timedelta(days=500, hours=10)).isoformat()
    limits = httpx.Limits(max_connections=contenders)
    auth = {"Authorization": f"Bearer {tenant['api_key']['key']}"}

    async def burst(request) -> list[tuple[int, float]]:
        """`contenders` requests at once, each on a connection of its own opened for the burst
        (reusing the previous burst's idle connections races the server's keep-alive timeout)."""
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120, headers=auth) as http:

            async def one(i: int) -> tuple[int, float]:
                started = time.perf_counter()
                response = await request(http, i)
                return response.status_code, (time.perf_counter() - started) * 1000

            return await asyncio.gather(*(one(i) for i in range(contenders)))

    def book(http: httpx.AsyncClient, i: int):
        customer = {"name": "B", "email": f"b{i}@bench.test"}
        return http.post(
            "/api/v1/bookings", json={"service_id": service, "starts_at": start, "customer": customer}
        )

    # The baseline: as many requests at once to an endpoint that only authenticates the key.
    baseline = await burst(lambda http, _: http.get("/api/v1/tenant"))
    results = await burst(book)
    base_latencies = [ms for _, ms in baseline]
    assert all(status == 200 for status, _ in baseline), Counter(status for status, _ in baseline)
    print(
        f"  baseline, {contenders} concurrent GET /api/v1/tenant (authenticated, no work): "
        f"p50 {percentile(base_latencies, 50):.1f} ms   p95 {percentile(base_latencies, 95):.1f} ms   "
        f"p99 {percentile(base_latencies, 99):.1f} ms"
    )
    statuses = Counter(status for status, _ in results)
    latencies = [ms for _, ms in results]
    print(
        f"  winners {statuses.get(201, 0)} (must be 1)   slot_taken {statuses.get(409, 0)}   "
        f"server errors {sum(n for s, n in statuses.items() if s >= 500)}"
    )
    print(
        f"  latency p50 {percentile(latencies, 50):.1f} ms   p95 {percentile(latencies, 95):.1f} ms   "
        f"p99 {percentile(latencies, 99):.1f} ms   max {max(latencies):.1f} ms"
    )
    ratio = percentile(latencies, 99) / percentile(base_latencies, 99)
    print(f"  p99 ratio bookers/baseline: {ratio:.2f} (target <= 2)")
    if statuses.get(201, 0) != 1 or any(s >= 500 for s in statuses):
        raise SystemExit("FAILED: the slot must have exactly one winner and no server errors")


POPULATE = """
WITH made AS (
    INSERT INTO tenants (id, slug, name, timezone, profile, settings)
    SELECT gen_random_uuid(), 'filler-' || i || '-' || md5(random()::text), 'Filler', 'America/New_York',
           'healthcare', '{}'
    FROM generate_series(1, $1) i RETURNING id
), providers_made AS (
    INSERT INTO providers (id, tenant_id, name, kind, active)
    SELECT gen_random_uuid(), id, 'Provider', 'person', true FROM made RETURNING id, tenant_id
), services_made AS (
    INSERT INTO services (id, tenant_id, name, description, aliases, duration_minutes, buffer_minutes, active)
    SELECT gen_random_uuid(), id, 'Visit', '', '{}', 30, 0, true FROM made RETURNING id, tenant_id
), customers_made AS (
    INSERT INTO customers (id, tenant_id, name, email)
    SELECT gen_random_uuid(), id, 'Filler', 'filler@bench.test' FROM made RETURNING id, tenant_id
)
INSERT INTO appointments (id, tenant_id, reference, provider_id, service_id, customer_id, starts_at, ends_at,
                          blocked_until, status, notes)
SELECT gen_random_uuid(), p.tenant_id, upper(substr(md5(random()::text), 1, 8)), p.id, s.id, c.id,
       now() + n * interval '30 minutes', now() + n * interval '30 minutes' + interval '30 minutes',
       now() + n * interval '30 minutes' + interval '30 minutes', 'booked', ''
FROM providers_made p JOIN services_made s USING (tenant_id) JOIN customers_made c USING (tenant_id),
     generate_series(1, $2) n
"""


async def populate(database_url: str, tenants: int, per_tenant: int) -> None:
    """Other clinics' appointments already in the tables, as in any real deployment: with empty
    tables every tenant's rows share the same few index pages, and SERIALIZABLE's page-grained
    predicate locks then make unrelated tenants abort each other."""
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(POPULATE, tenants, per_tenant)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--contenders", type=int, default=200)
    parser.add_argument("--other-tenants", type=int, default=0, help="clinics already in the tables")
    parser.add_argument("--their-appointments", type=int, default=100, help="appointments each already has")
    args = parser.parse_args()

    data_dir = ROOT / "var" / "bench"
    server_url, database_url, redis_url = prepare_services(data_dir)
    settings = Settings(
        _env_file=None, database_url=database_url, redis_url=redis_url, db_pool_size=20, db_max_overflow=20
    )
    if args.other_tenants:
        asyncio.run(populate(database_url, args.other_tenants, args.their_appointments))
    process, base = start_server(database_url, redis_url, data_dir)
    first_day = datetime.combine(datetime.now(TZ).date() + timedelta(days=2), datetime.min.time(), tzinfo=TZ)
    print(f"Frontdesk booking benchmark — PostgreSQL {server_url.split('?')[0]}, {os.cpu_count()} cores")
    try:
        asyncio.run(uncontended(base, settings, args.bookings, args.concurrency, first_day))
        asyncio.run(contended(base, args.contenders, first_day))
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    main()
