"""Appointments from a clinic's own system in bulk, measured in one run on the embedded database.

1. 10,000 rows through `POST /api/v1/external-appointments:bulk` (NDJSON, one request) on a
   `frontdesk serve` process over real TCP: rows/s for the first import (every row a new
   appointment with its patient, reminders, audit row and event) and for the same rows sent again
   (every row checked and found unchanged: nothing written).
2. The baseline: the same rows `COPY`-ed by asyncpg into a scratch table of the same database, the
   cheapest way PostgreSQL takes rows. The ratio is what checking, locking, conflicts and the
   lifecycle of every appointment cost.

Wall-clock rates swing with whatever else the machine runs, so each step also prints the CPU it
cost per row: the `frontdesk serve` process's and the PostgreSQL backends' of the bench database
(read from /proc, so only where the database runs on this machine; "-" elsewhere).

Usage: python bench/external_import.py [--rows 10000] [--providers 20]
With DATABASE_URL set it uses that server instead of the embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ADMIN_SECRET,
    ALL_DAY,
    prepare_services,
    process_cpu_seconds,
    start_server,
)

TZ = ZoneInfo("America/New_York")
SOURCE = "bench-pms"


async def create_tenant(base: str, providers: int) -> tuple[str, list[str]]:
    spec = {
        "name": "Bench Clinic",
        "slug": f"bench-{uuid.uuid4().hex[:10]}",
        "timezone": "America/New_York",
        "settings": {"max_days_ahead": 730},
        "providers": [{"name": f"Provider {i}", "hours": ALL_DAY} for i in range(providers)],
        "services": [{"name": "Visit", "duration_minutes": 15}],
    }
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        response = await http.post("/api/v1/tenants", json=spec, headers={"X-Admin-Secret": ADMIN_SECRET})
        response.raise_for_status()
        made = response.json()
    return made["api_key"]["key"], [p["id"] for p in made["providers"]]


def rows_for(count: int, provider_ids: list[str]) -> list[dict]:
    """`count` appointments of 15 minutes, none overlapping, spread over the providers' days, for
    about a third as many patients (regulars come back)."""
    first = datetime.combine(datetime.now(TZ).date() + timedelta(days=3), datetime.min.time(), tzinfo=TZ)
    patients = [f"+1212{random.randint(2_000_000, 9_999_999)}" for _ in range(max(1, count // 3))]
    rows = []
    for n in range(count):
        provider = provider_ids[n % len(provider_ids)]
        slot = n // len(provider_ids)
        starts = first + timedelta(days=slot // 40, minutes=15 * (slot % 40) + 8 * 60)
        phone = patients[n % len(patients)]
        rows.append(
            {
                "source": SOURCE,
                "external_id": f"ext-{n}",
                "version": 1,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=15)).isoformat(),
                "provider_id": provider,
                "customer": {"name": f"Patient {phone[-4:]}", "phone": phone},
            }
        )
    return rows


@dataclass
class Step:
    label: str
    seconds: float
    server_cpu: float | None = None
    database_cpu: float | None = None
    counts: Counter | None = None


class CpuMeter:
    """CPU used meanwhile by the server process and by the database's backends (those serving the
    bench database, found through pg_stat_activity from a connection of our own)."""

    def __init__(self, connection: asyncpg.Connection, server_pid: int | None) -> None:
        self.connection, self.server_pid = connection, server_pid

    async def _backends(self) -> dict[int, float | None]:
        pids = await self.connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row["pid"]: process_cpu_seconds(row["pid"]) for row in pids}

    async def measure(self, label: str, work: Callable[[], Awaitable[Counter | None]]) -> Step:
        backends = await self._backends()
        server = process_cpu_seconds(self.server_pid) if self.server_pid else None
        started = time.perf_counter()
        counts = await work()
        seconds = time.perf_counter() - started
        after = await self._backends()
        database = None
        if after and all(cpu is not None for cpu in after.values()):
            # A backend that started meanwhile counts whole; one that ended is lost (the pool keeps them).
            database = sum(cpu - (backends.get(pid) or 0.0) for pid, cpu in after.items())  # type: ignore[operator]
        server_after = process_cpu_seconds(self.server_pid) if self.server_pid else None
        server_cpu = server_after - server if server is not None and server_after is not None else None
        return Step(label, seconds, server_cpu, database, counts)


async def bulk(base: str, key: str, rows: list[dict]) -> Counter:
    body = "\n".join(json.dumps(r) for r in rows).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    async with httpx.AsyncClient(base_url=base, timeout=3600) as http:
        response = await http.post("/api/v1/external-appointments:bulk", content=body, headers=headers)
    response.raise_for_status()
    return Counter(response.json()["counts"])


def scratch_records(rows: list[dict]) -> list[tuple]:
    return [
        (
            uuid.uuid4(),
            uuid.UUID(r["provider_id"]),
            datetime.fromisoformat(r["starts_at"]),
            datetime.fromisoformat(r["ends_at"]),
            r["source"],
            r["external_id"],
            r["version"],
            r["customer"]["name"],
            r["customer"]["phone"],
        )
        for r in rows
    ]


async def scratch_table(connection: asyncpg.Connection) -> None:
    await connection.execute(
        "CREATE TEMP TABLE scratch_appointments (id uuid, provider_id uuid, starts_at timestamptz,"
        " ends_at timestamptz, source text, external_id text, version bigint, name text, phone text)"
    )


async def raw_copy(connection: asyncpg.Connection, records: list[tuple]) -> Counter | None:
    """The same rows COPY-ed into a scratch table of the same database: PostgreSQL's floor."""
    await connection.copy_records_to_table("scratch_appointments", records=records)
    return None


def per_row_ms(cpu: float | None, count: int) -> str:
    return "-" if cpu is None else f"{cpu * 1000 / count:.2f}"


async def run(base: str, database_url: str, server_pid: int, count: int, providers: int) -> None:
    key, provider_ids = await create_tenant(base, providers)
    rows = rows_for(count, provider_ids)
    url = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    copier, watcher = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        meter = CpuMeter(watcher, server_pid)
        await scratch_table(copier)
        records = scratch_records(rows)
        steps = [
            await meter.measure("raw COPY into a scratch table", lambda: raw_copy(copier, records)),
            await meter.measure("bulk API, first import", lambda: bulk(base, key, rows)),
            await meter.measure("bulk API, the same rows again", lambda: bulk(base, key, rows)),
        ]
    finally:
        await copier.close()
        await watcher.close()
    floor = steps[0]
    print(
        f"{'':34}{'rows':>7}{'seconds':>9}{'rows/s':>8}{'vs COPY':>9}"
        f"{'server CPU ms/row':>19}{'database CPU ms/row':>21}"
    )
    for step in steps:
        print(
            f"{step.label:34}{count:>7}{step.seconds:>9.2f}{count / step.seconds:>8.0f}"
            f"{step.seconds / floor.seconds:>8.0f}x{per_row_ms(step.server_cpu, count):>19}"
            f"{per_row_ms(step.database_cpu, count):>21}"
        )
        if step.counts is not None:
            print(f"{'':34}results: {dict(step.counts)}")
    first, again = steps[1].counts, steps[2].counts
    assert first == Counter(created=count) and again == Counter(unchanged=count), (first, again)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--providers", type=int, default=20)
    args = parser.parse_args()
    data_dir = ROOT / "var" / "bench"
    server_url, database_url, redis_url = prepare_services(data_dir)
    process, base = start_server(database_url, redis_url, data_dir)
    print(
        f"Frontdesk external import benchmark — PostgreSQL {server_url.split('?')[0]}, {os.cpu_count()} cores"
    )
    try:
        asyncio.run(run(base, database_url, process.pid, args.rows, args.providers))
    finally:
        process.terminate()
        process.wait(timeout=20)


if __name__ == "__main__":
    main()
