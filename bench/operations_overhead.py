"""What observability and scale-out cost or give, on the chat and booking benches, in one run:

1. text logs and no request metrics (the floor) against JSON logs (structlog) and Prometheus
   request metrics, both at INFO with the access log on: the overhead, which should stay within 5 %;
2. `frontdesk serve --workers 2` against 1 process, with JSON logs and metrics on.

Each configuration gets its own fresh database and server; the same clients drive each.
Usage: python bench/operations_overhead.py [--clients 20] [--conversations 2] [--bookings 240]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.booking import create_tenant, run_lanes, slot  # noqa: E402
from bench.chat import create_tenant_and_key, run_frontdesk  # noqa: E402
from bench.common import prepare_services, start_server  # noqa: E402

CONFIGS = (
    ("text logs, no metrics (floor)", {"LOG_FORMAT": "text", "METRICS_ENABLED": "false"}, ()),
    ("JSON logs + metrics", {"LOG_FORMAT": "json", "METRICS_ENABLED": "true"}, ()),
    (
        "JSON logs + metrics, --workers 2",
        {"LOG_FORMAT": "json", "METRICS_ENABLED": "true"},
        ("--workers", "2"),
    ),
)


async def bookings_per_second(base: str, total: int, lanes: int) -> float:
    tenant = await create_tenant(base, lanes)
    first_day = datetime.now(UTC) + timedelta(days=2)
    async with httpx.AsyncClient(
        base_url=base, limits=httpx.Limits(max_connections=lanes), timeout=60
    ) as http:

        async def book_one(lane: int, n: int) -> str:
            response = await http.post(
                "/api/v1/bookings",
                headers={"Authorization": f"Bearer {tenant['api_key']['key']}"},
                json={
                    "service_id": tenant["services"][0]["id"],
                    "provider_id": tenant["providers"][lane]["id"],
                    "starts_at": slot(lane, n, first_day).isoformat(),
                    "customer": {"name": "Bench", "phone": f"+1617555{lane:02d}{n % 100:02d}"},
                },
            )
            return str(response.status_code)

        elapsed, _, outcomes = await run_lanes(lanes, total // lanes, book_one)
    assert set(outcomes) == {"201"}, outcomes
    return sum(outcomes.values()) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--conversations", type=int, default=2)
    parser.add_argument("--bookings", type=int, default=240)
    args = parser.parse_args()
    print(
        "Observability overhead and scale-out (chat turns/s with 20 Socket.IO clients; bookings/s, 8 lanes):"
    )
    floor: tuple[float, float] | None = None
    for label, env, serve_args in CONFIGS:
        _, database_url, redis_url = prepare_services(ROOT / "var" / "bench")
        data_dir = ROOT / "var" / "bench" / f"ops-{len(serve_args)}-{env['LOG_FORMAT']}"
        data_dir.mkdir(parents=True, exist_ok=True)
        server, base = start_server(
            database_url, redis_url, data_dir, {**env, "LOG_LEVEL": "INFO"}, serve_args=serve_args
        )
        try:
            key = create_tenant_and_key(base, providers=4)
            elapsed, latencies = asyncio.run(run_frontdesk(base, key, args.clients, args.conversations))
            turns = len(latencies) / elapsed
            booked = asyncio.run(bookings_per_second(base, args.bookings, 8))
        finally:
            server.terminate()
            server.wait(timeout=30)
        floor = floor or (turns, booked)
        print(
            f"  {label:<36} chat {turns:6.1f} turns/s ({turns / floor[0]:6.1%})"
            f"   booking {booked:6.1f}/s ({booked / floor[1]:6.1%})"
        )


if __name__ == "__main__":
    main()
