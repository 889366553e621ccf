"""The report endpoints at a clinic's real volume: 10,000 appointments (booked by every channel over
the year, a third confirmed, some no-shows and cancellations), 50,000 conversation messages and
50,000 outbox messages, through a `frontdesk serve` process over real TCP.

Measured, p50/p95/p99 ms: `GET /api/v1/reports/<figure>` for each figure over 28 days and over 366
days, next to the baseline in the same run: `GET /health` (same server, HTTP and middleware, no
query). The goal is a p95 under 300 ms.

Usage: python bench/reports.py [--requests 100] [--appointments 10000] [--messages 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import prepare_services, start_server  # noqa: E402
from bench.workspace_views import clinic, fill, line, timed  # noqa: E402

FIGURES = ("bookings", "confirmations", "attendance", "recovered", "messages", "speed")


async def shape(database_url: str, tenant: str, outbox: int) -> None:
    """Give the appointments the history reports read: when and how each was booked, confirmed,
    attended; reminders and other messages in the outbox over the year."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "WITH c AS (SELECT id, row_number() OVER () AS n FROM conversations WHERE tenant_id = $1),"
            " a AS (SELECT id, row_number() OVER (ORDER BY starts_at) AS n FROM appointments"
            "       WHERE tenant_id = $1)"
            " UPDATE appointments p SET"
            "  created_at = p.starts_at - make_interval(days => 1 + (a.n % 20)::int),"
            "  booked_via = (ARRAY['conversation','conversation','staff','api','waitlist'])[1 + a.n % 5],"
            "  conversation_id = CASE WHEN a.n % 5 < 2 THEN"
            "    (SELECT id FROM c WHERE c.n = 1 + a.n % (SELECT count(*) FROM c)) END,"
            "  status = CASE WHEN p.starts_at > now()"
            "    THEN (ARRAY['booked','confirmed','booked'])[1 + a.n % 3]"
            "    ELSE (ARRAY['completed','completed','no_show','cancelled','completed'])[1 + a.n % 5] END,"
            "  confirmed_via = CASE WHEN a.n % 3 = 1 THEN (ARRAY['sms','email'])[1 + a.n % 2] END"
            " FROM a WHERE p.id = a.id",
            tenant,
        )
        await connection.execute(
            "INSERT INTO notification_outbox (id, tenant_id, kind, channel, recipient, recipient_timezone,"
            " body, dedupe_key, status, delivery_status, appointment_id, customer_id, next_attempt_at,"
            " created_at) SELECT gen_random_uuid(), $1,"
            " (ARRAY['reminder','reminder','confirmation','no_show','follow_up'])[1 + n % 5],"
            " 'sms', '+1617' || lpad((n % 2000)::text, 7, '0'), 'America/New_York', 'x', 'bench:' || n,"
            " (ARRAY['sent','sent','sent','opted_out','failed','suppressed'])[1 + n % 6],"
            " CASE WHEN n % 3 = 0 THEN 'delivered' END, a.id, a.customer_id,"
            " a.starts_at - interval '1 day', a.starts_at - interval '1 day'"
            " FROM generate_series(1, $2) n"
            " JOIN (SELECT id, customer_id, starts_at, row_number() OVER () AS k FROM appointments"
            "       WHERE tenant_id = $1) a ON a.k = 1 + n % 10000",
            tenant,
            outbox,
        )
        await connection.execute("ANALYZE")
        counted = await connection.fetchval(
            "SELECT count(*) FROM notification_outbox WHERE tenant_id = $1", tenant
        )
        print(f"  data: {counted:,} outbox messages")
    finally:
        await connection.close()


async def measure(args: argparse.Namespace, database_url: str, base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        tenant, service = await clinic(http)
        today = await fill(database_url, tenant, service, args.appointments, args.messages)
        await shape(database_url, tenant, args.messages)
        month = {"from": (today - timedelta(days=27)).isoformat(), "to": today.isoformat()}
        year = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
        n = args.requests
        await timed(http, ["/health"] * 20 + [f"/api/v1/reports/{f}" for f in FIGURES])  # warm up
        line("baseline: GET /health", await timed(http, ["/health"] * n))
        for figure in FIGURES:
            for label, period in (("28 days", month), ("366 days", year)):
                query = f"from={period['from']}&to={period['to']}"
                line(
                    f"reports/{figure}, {label}", await timed(http, [f"/api/v1/reports/{figure}?{query}"] * n)
                )
        line(
            "Reports page (all six, 28 days)",
            await timed(http, [f"/app/reports?from={month['from']}&to={month['to']}"] * max(n // 5, 10)),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    print("Report endpoints at a clinic's volume (one client, sequential requests):")
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
