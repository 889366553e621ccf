"""Calendar sync at a real provider's size, against a real CalDAV server (Radicale).

Measured:
- first sync of a calendar with 5,000 events, 200 of them weekly recurring (read, expanded over the
  booking window, written as busy blocks), and an incremental sync after 20 changes and 10
  deletions (sync-collection since the stored token);
- availability (one week, one provider) with 2,000 busy blocks, next to the same query for a
  provider with none: the baseline in the same run.

Usage: python bench/calendar_sync.py [--events 5000] [--recurring 200] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from icalendar import Timezone
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.app import create_app  # noqa: E402
from backend.calendars import connections  # noqa: E402
from backend.calendars.caldav_account import CalDavAccount  # noqa: E402
from backend.calendars.sync import CalendarSync  # noqa: E402
from backend.core.context import Caller  # noqa: E402
from backend.core.crypto import KeyRing  # noqa: E402
from backend.core.db import Database  # noqa: E402
from backend.core.settings import Settings  # noqa: E402
from backend.scheduling import availability  # noqa: E402
from backend.tenants import service as tenants  # noqa: E402
from bench.common import ADMIN_SECRET, percentile, prepare_services  # noqa: E402
from tests.conftest import tenant_spec  # noqa: E402
from tests.fakes import radicale_server  # noqa: E402

NY = ZoneInfo("America/New_York")


# As calendar apps write them: each resource carries the VTIMEZONE its TZID names.
VTIMEZONE = Timezone.from_tzid("America/New_York").to_ical().decode()


def ics(uid: str, start: datetime, minutes: int, weekly: bool = False) -> str:
    rule = "RRULE:FREQ=WEEKLY\r\n" if weekly else ""
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n{VTIMEZONE}BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID=America/New_York:{start:%Y%m%dT%H%M%S}\r\n"
        f"DTEND;TZID=America/New_York:{start + timedelta(minutes=minutes):%Y%m%dT%H%M%S}\r\n"
        f"{rule}SUMMARY:Busy {uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def fill(folder: Path, events: int, recurring: int) -> None:
    """Write the calendar's resources straight into Radicale's storage (PUTting 5,000 one by one
    would measure Radicale, not us); Radicale reads its folder on every request."""
    rng = random.Random(7)
    today = datetime.now(NY).date()
    for n in range(events):
        day = today + timedelta(days=rng.randrange(0, 90))
        start = datetime(day.year, day.month, day.day, rng.randrange(8, 18), rng.choice((0, 15, 30, 45)))
        (folder / f"e{n}.ics").write_text(ics(f"e{n}", start, rng.choice((15, 30, 60)), weekly=n < recurring))


async def main(args: argparse.Namespace, data_dir: Path, database_url: str, redis_url: str) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        admin_secret=ADMIN_SECRET,
        secrets_keys=KeyRing.new_key("b1"),
        data_dir=data_dir,
        rate_limits_enabled=False,
        calendar_timeout_seconds=600,
    )
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        made = await client.post(
            "/api/v1/tenants",
            json=tenant_spec(settings={"min_lead_minutes": 0}),
            headers={"X-Admin-Secret": ADMIN_SECRET},
        )
        body = made.json()
    tenant_id = uuid.UUID(body["tenant"]["id"])
    providers = {p["name"]: uuid.UUID(p["id"]) for p in body["providers"]}
    consult = uuid.UUID(next(s["id"] for s in body["services"] if s["name"] == "Consultation"))
    db = Database(settings)

    with radicale_server.running(data_dir / "radicale") as radicale:
        account = radicale.new_account()
        account.make_calendar("Work")
        folder = data_dir / "radicale" / "collections" / "collection-root" / account.username / "work"
        fill(folder, args.events, args.recurring)
        # Radicale parses every resource the first time it is asked about the collection; that is
        # its cost, not ours, so it is paid (and shown) before the timed sync.
        began = time.perf_counter()
        probe = CalDavAccount(account.server_url, account.username, account.password, timeout=600)
        await asyncio.to_thread(probe.changes, f"{account.server_url}{account.username}/work/", None)
        warm_seconds = time.perf_counter() - began
        found = await asyncio.to_thread(
            CalDavAccount(account.server_url, account.username, account.password).calendars
        )

        async def connect(session: AsyncSession) -> uuid.UUID:
            context = await tenants.get_context(session, tenant_id)
            new = connections.NewConnection(
                providers["Dr. Adams"],
                "caldav",
                account.username,
                account.password,
                found,
                account.server_url,
            )
            return (
                await connections.connect(
                    session, Caller(context, "bench", "bench"), settings.key_ring, new, datetime.now(UTC)
                )
            ).id

        connection_id = await db.transaction(connect)
        sync = CalendarSync(db, settings)
        began = time.perf_counter()
        first = await sync.sync_connection(connection_id, datetime.now(UTC))
        first_seconds = time.perf_counter() - began
        async with db.engine.connect() as conn:
            blocks = (await conn.execute(text("SELECT count(*) FROM busy_blocks"))).scalar_one()
        today = datetime.now(NY).date()
        for n in range(20):
            moved = datetime.combine(today + timedelta(days=n + 1), datetime.min.time()).replace(hour=7)
            (folder / f"e{1000 + n}.ics").write_text(ics(f"e{1000 + n}", moved, 30))
        for n in range(10):
            (folder / f"e{2000 + n}.ics").unlink()
        began = time.perf_counter()
        second = await sync.sync_connection(connection_id, datetime.now(UTC))
        incremental_seconds = time.perf_counter() - began

    print(f"calendar of {args.events:,} events ({args.recurring} weekly recurring), Radicale over HTTP:")
    print(f"  (Radicale's own first read of its folder, untimed below: {warm_seconds * 1000:.0f} ms)")
    print(
        f"  first sync        {first_seconds * 1000:8.0f} ms   "
        f"{first.items:,} events -> {blocks:,} busy blocks"
        f"{'  ERROR ' + first.error if first.error else ''}"
    )
    print(
        f"  incremental sync  {incremental_seconds * 1000:8.0f} ms   {second.items} changed, 10 deleted"
        f"{'  ERROR ' + second.error if second.error else ''}"
    )

    # Availability: a provider with 2,000 busy blocks against one with none, same query, same run.
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM calendar_connections"))
    rng = random.Random(3)
    rows = []
    for _ in range(2000):
        day = today + timedelta(days=rng.randrange(0, 60))
        start = datetime(day.year, day.month, day.day, rng.randrange(9, 17), rng.choice((0, 30)), tzinfo=NY)
        rows.append((start, start + timedelta(minutes=30)))
    await _availability_blocks(db, tenant_id, providers["Dr. Baker"], rows)
    window = (today + timedelta(days=7), today + timedelta(days=13))
    timings = {}
    for label, provider in (
        ("with 2,000 busy blocks", providers["Dr. Baker"]),
        ("with none (baseline)", providers["Dr. Adams"]),
    ):
        samples = []
        for _ in range(args.queries):
            began = time.perf_counter()
            await db.transaction(
                lambda s, provider=provider: _week(s, settings, tenant_id, consult, provider, window)
            )
            samples.append((time.perf_counter() - began) * 1000)
        timings[label] = samples
    print(f"availability, one provider, one week ({args.queries} queries):")
    for label, samples in timings.items():
        print(
            f"  {label:24s} p50 {percentile(samples, 50):6.1f} ms  p95 {percentile(samples, 95):6.1f} ms  "
            f"p99 {percentile(samples, 99):6.1f} ms"
        )
    base = percentile(timings["with none (baseline)"], 95)
    print(f"  p95 ratio busy/none: {percentile(timings['with 2,000 busy blocks'], 95) / base:.2f}")
    await db.dispose()
    await app.state.db.dispose()


async def _availability_blocks(db: Database, tenant_id: uuid.UUID, provider: uuid.UUID, rows: list) -> None:
    """2,000 busy blocks for a provider without a real calendar: one stand-in connection, one item."""
    async with db.engine.begin() as conn:
        connection = await conn.execute(
            text(
                "INSERT INTO calendar_connections (id, tenant_id, provider_id, kind, account, "
                "secret_sealed, last_synced_at) "
                "VALUES (gen_random_uuid(), :t, :p, 'caldav', 'bench', 'x', now()) RETURNING id"
            ),
            {"t": tenant_id, "p": provider},
        )
        source = await conn.execute(
            text(
                "INSERT INTO calendar_sources "
                "(id, tenant_id, connection_id, provider_id, external_id, name, blocks_time) "
                "VALUES (gen_random_uuid(), :t, :c, :p, 'bench', 'bench', true) RETURNING id"
            ),
            {"t": tenant_id, "c": connection.scalar_one(), "p": provider},
        )
        item = await conn.execute(
            text(
                "INSERT INTO calendar_items (tenant_id, source_id, external_key) "
                "VALUES (:t, :s, 'bench') RETURNING id"
            ),
            {"t": tenant_id, "s": source.scalar_one()},
        )
        item_id = item.scalar_one()
        await conn.execute(
            text(
                "INSERT INTO busy_blocks (tenant_id, provider_id, item_id, starts_at, ends_at) "
                "VALUES (:t, :p, :i, :s, :e)"
            ),
            [{"t": tenant_id, "p": provider, "i": item_id, "s": s, "e": e} for s, e in rows],
        )


async def _week(
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    service: uuid.UUID,
    provider: uuid.UUID,
    window: tuple[date, date],
) -> None:
    context = await tenants.get_context(session, tenant_id)
    await availability.find_slots(
        session, context, service, window[0], window[1], datetime.now(UTC), provider_id=provider
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--recurring", type=int, default=200)
    parser.add_argument("--queries", type=int, default=200)
    directory = Path(tempfile.mkdtemp(prefix="bench-calendars-"))
    _, database, redis = prepare_services(directory)
    asyncio.run(main(parser.parse_args(), directory, database, redis))
