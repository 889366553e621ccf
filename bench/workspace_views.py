"""The workspace at a clinic's real volume: 10,000 appointments and 50,000 conversation messages,
through a `frontdesk serve` process over real TCP, signed in with a workspace session.

Measured, p50/p95/p99 ms:
- the schedule's week view for the whole clinic (server-rendered, every appointment of the week);
- the schedule's day view;
- the inbox list (the conversations API the inbox page reads), its first page and a deep page
  reached by cursor, and the `needs a person` filter;
- the patient search;
next to the baseline in the same run: `/health` (the same server, HTTP and middleware, no query).

Usage: python bench/workspace_views.py [--requests 200] [--appointments 10000] [--messages 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ADMIN_SECRET, percentile, prepare_services, start_server  # noqa: E402

PASSWORD = "bench password 123"
HOURS = [
    {"weekday": day, "opens_at": "09:00", "closes_at": "17:00"} for day in ("mon", "tue", "wed", "thu", "fri")
]


async def clinic(http: httpx.AsyncClient) -> tuple[str, str]:
    body = {
        "slug": "bench-volume",
        "name": "Volume Clinic",
        "timezone": "America/New_York",
        "profile": "healthcare",
        "providers": [{"name": "Dr. A", "hours": HOURS}, {"name": "Dr. B", "hours": HOURS}],
        "services": [{"name": "Visit", "duration_minutes": 30}],
        "owner": {"email": "owner@volume.example", "name": "Vera Volume"},
    }
    made = await http.post("/api/v1/tenants", json=body, headers={"X-Admin-Secret": ADMIN_SECRET})
    made.raise_for_status()
    link = "/app/" + made.json()["owner_invite_url"].split("/app/", 1)[1]
    token = re.search(r'name="form_token" value="([^"]+)"', (await http.get(link)).text).group(1)
    accepted = await http.post(link, data={"password": PASSWORD, "form_token": token})
    assert accepted.status_code == 303, accepted.text
    return made.json()["tenant"]["id"], made.json()["services"][0]["id"]


async def fill(database_url: str, tenant: str, service: str, appointments: int, messages: int) -> date:
    """Straight into the tables: appointments on weekdays 9-17 for both providers, around today."""
    connection = await asyncpg.connect(database_url)
    try:
        providers = [
            r["id"] for r in await connection.fetch("SELECT id FROM providers WHERE tenant_id = $1", tenant)
        ]
        await connection.execute(
            "INSERT INTO customers (id, tenant_id, name, phone, created_at) "
            "SELECT gen_random_uuid(), $1, 'Patient ' || n, '+1617' || lpad(n::text, 7, '0'), now() "
            "FROM generate_series(1, 2000) n",
            tenant,
        )
        customers = [
            r["id"] for r in await connection.fetch("SELECT id FROM customers WHERE tenant_id = $1", tenant)
        ]
        start = date.today() - timedelta(days=200)
        days = [start + timedelta(days=n) for n in range(460) if (start + timedelta(days=n)).weekday() < 5]
        rows = []
        for i in range(appointments):
            slot = i // 2
            day = days[slot // 16]
            minute = 9 * 60 + (slot % 16) * 30
            rows.append((providers[i % 2], customers[i % len(customers)], day, minute, f"R{i:07d}"))
        await connection.executemany(
            "INSERT INTO appointments (id, tenant_id, reference, provider_id, service_id, customer_id,"
            " starts_at, ends_at, blocked_until, status) SELECT gen_random_uuid(), $1, $6, $2, $7, $3, t,"
            " t + interval '30 min', t + interval '30 min', 'booked'"
            " FROM (SELECT ($4::date + make_interval(mins => $5)) AT TIME ZONE 'America/New_York' AS t) s",
            [(tenant, p, c, d, m, ref, service) for p, c, d, m, ref in rows],
        )
        conversations = messages // 10
        await connection.execute(
            "INSERT INTO conversations (id, tenant_id, channel, status, state, last_seq, created_at,"
            " updated_at) "
            "SELECT gen_random_uuid(), $1, (ARRAY['web','sms','voice'])[1 + n % 3], "
            "CASE WHEN n % 50 = 0 THEN 'needs_human' ELSE 'open' END, "
            "jsonb_build_object('name', 'Patient ' || n), 10, now() - make_interval(mins => n), "
            "now() - make_interval(mins => n) FROM generate_series(1, $2) n",
            tenant,
            conversations,
        )
        await connection.execute(
            "INSERT INTO conversation_messages (conversation_id, tenant_id, seq, role, body, payload) "
            "SELECT c.id, c.tenant_id, s, CASE WHEN s % 2 = 1 THEN 'patient' ELSE 'assistant' END, "
            "'Message ' || s || ' of a conversation about an appointment', '{}' "
            "FROM conversations c, generate_series(1, 10) s WHERE c.tenant_id = $1",
            tenant,
        )
        await connection.execute("ANALYZE")
        counted = await connection.fetchval("SELECT count(*) FROM appointments WHERE tenant_id = $1", tenant)
        said = await connection.fetchval(
            "SELECT count(*) FROM conversation_messages WHERE tenant_id = $1", tenant
        )
        print(f"  data: {counted:,} appointments, {said:,} messages in {conversations:,} conversations")
    finally:
        await connection.close()
    return date.today()


async def timed(http: httpx.AsyncClient, paths: list[str]) -> list[float]:
    took = []
    for path in paths:
        began = time.perf_counter()
        response = await http.get(path)
        took.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return took


def line(label: str, took: list[float]) -> None:
    print(
        f"  {label:<44} p50 {percentile(took, 50):7.1f}  p95 {percentile(took, 95):7.1f}"
        f"  p99 {percentile(took, 99):7.1f} ms  ({len(took)} requests)"
    )


async def measure(args: argparse.Namespace, database_url: str, base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        tenant, service = await clinic(http)
        today = await fill(database_url, tenant, service, args.appointments, args.messages)
        weeks = [today + timedelta(weeks=w) for w in range(-20, 20)]
        n = args.requests
        await timed(http, ["/health"] * 20 + [f"/app/schedule?view=week&day={weeks[0]}"] * 5)  # warm up
        line("baseline: GET /health", await timed(http, ["/health"] * n))
        line(
            "schedule, week, whole clinic",
            await timed(http, [f"/app/schedule?view=week&day={weeks[i % len(weeks)]}" for i in range(n)]),
        )
        line(
            "schedule, day, whole clinic",
            await timed(http, [f"/app/schedule?day={today + timedelta(days=i % 60)}" for i in range(n)]),
        )
        line("inbox list, first page (40)", await timed(http, ["/api/v1/conversations?limit=40"] * n))
        page = (await http.get("/api/v1/conversations?limit=40")).json()
        for _ in range(50):
            page = (await http.get(f"/api/v1/conversations?limit=40&cursor={page['next_cursor']}")).json()
        deep = f"/api/v1/conversations?limit=40&cursor={page['next_cursor']}"
        line("inbox list, page 52 by cursor", await timed(http, [deep] * n))
        line(
            "inbox list, needs a person",
            await timed(http, ["/api/v1/conversations?limit=40&status=needs_human"] * n),
        )
        line("inbox page (shell)", await timed(http, ["/app/inbox"] * n))
        line(
            "patient search (name part)",
            await timed(http, [f"/api/v1/customers?q=patient%20{i % 2000}" for i in range(n)]),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=50_000)
    print("Workspace views at a clinic's volume (one client, sequential requests):")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        _, database_url, redis_url = prepare_services(ROOT / "var" / "bench")
        server, base = start_server(database_url, redis_url, Path(scratch))
        try:
            asyncio.run(measure(args, database_url, base))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
