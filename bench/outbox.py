"""Outbox throughput: 5,000 SMS through the outbox and `frontdesk worker` processes to a local
Twilio API server, with 1 and 2 workers; next to the baseline of raw arq jobs making the same
Twilio call (same client, same server, no database), with 1 and 2 arq workers, in the same run.

Messages are committed in one transaction; a message's latency runs from that commit to the
moment its `sent` status is recorded (after Twilio answered). The baseline's runs from enqueueing
the job to the job's end.

Usage: python bench/outbox.py [--messages 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from arq import create_pool
from arq.connections import RedisSettings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.arq_baseline import DONE_KEY  # noqa: E402
from bench.common import (  # noqa: E402
    ADMIN_SECRET,
    free_port,
    insert_tenant,
    percentile,
    prepare_services,
    start_http,
    start_server,
)
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER  # noqa: E402


def start(command: list[str], env: dict[str, str], root: Path = ROOT) -> subprocess.Popen:
    """`command` run from `root` (another checkout runs its own code: bench/faults.py's "before")."""
    return subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def fake_twilio() -> tuple[subprocess.Popen, str]:
    port = free_port()
    return start_http([sys.executable, "-m", "tests.fakes.twilio_server", str(port)], port)


@dataclass(frozen=True)
class SmsDeployment:
    base: str  # where the API process listens
    public: str  # the URL webhooks are signed for
    twilio_url: str  # the local Twilio server the worker sends through
    api_pid: int
    worker_pids: tuple[int, ...]


@contextmanager
def sms_deployment(extra_env: dict[str, str] | None = None, workers: int = 1) -> Iterator[SmsDeployment]:
    """A fresh database, one `frontdesk serve`, `workers` `frontdesk worker` processes and a local
    Twilio server."""
    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    _, database_url, redis_url = prepare_services(data_dir)
    twilio, twilio_url = fake_twilio()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {
        "ENVIRONMENT": "test",
        "PUBLIC_BASE_URL": public,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio_url,
        "CHAT_MESSAGES_PER_MINUTE": "600",
        **(extra_env or {}),
    }
    server, base = start_server(database_url, redis_url, data_dir, extra_env=env, port=port)
    worker_env = {
        **os.environ,
        **env,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ADMIN_SECRET": ADMIN_SECRET,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
    }
    started = [start([sys.executable, "-m", "backend.cli", "worker"], worker_env) for _ in range(workers)]
    try:
        asyncio.run(_until_beating(database_url, workers))
        yield SmsDeployment(base, public, twilio_url, server.pid, tuple(p.pid for p in started))
    finally:
        stop([*started, server, twilio])


async def _until_beating(database_url: str, workers: int, within: float = 120) -> None:
    """Until every worker's loop has turned once (its heartbeat): a slow start on a busy machine is
    not measured as slow answers."""
    connection = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + within
        while await connection.fetchval("SELECT count(*) FROM worker_heartbeats") < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} worker(s) did not start within {within:.0f} s")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


def report(label: str, count: int, elapsed: float, latencies: list[float]) -> None:
    print(
        f"  {label:<34} {count / elapsed:8.1f} msgs/s   p50 {percentile(latencies, 50) * 1000:8.1f} ms"
        f"   p95 {percentile(latencies, 95) * 1000:8.1f} ms   ({count} in {elapsed:.1f} s)",
        flush=True,
    )


async def outbox_run(
    database_url: str, env: dict[str, str], workers: int, count: int, root: Path = ROOT
) -> tuple[float, list[float]]:
    """`count` texts committed at once; how long until the last is recorded as sent, and each one's
    latency. Measured once the workers are warm: started, settled (their start-up work, such as
    loading models in a thread, is over) and through a first small batch, so that two versions
    are compared on sending, not on starting."""
    connection = await asyncpg.connect(database_url)
    processes = [start([sys.executable, "-m", "backend.cli", "worker"], env, root) for _ in range(workers)]
    try:
        await _queue_and_wait(connection, await insert_tenant(connection), WARM_UP, "+1214")
        await _until_settled(processes)
        tenant = await insert_tenant(connection)
        committed = time.time()
        await _queue_and_wait(connection, tenant, count, "+1212")
        done = await connection.fetch(
            "SELECT extract(epoch FROM updated_at) AS at FROM notification_outbox WHERE tenant_id = $1",
            tenant,
        )
    finally:
        stop(processes)
        await connection.close()
    latencies = [float(row["at"]) - committed for row in done]
    return max(latencies), latencies


# Texts sent before measuring, so that what is done once (connections, lazy imports) is not measured.
WARM_UP = 50


async def _queue_and_wait(connection: asyncpg.Connection, tenant: uuid.UUID, count: int, prefix: str) -> None:
    """`count` texts for `tenant` (to numbers of their own after `prefix`) committed in one
    transaction, then polled until all are sent."""
    await connection.execute(
        """
        INSERT INTO notification_outbox (id, tenant_id, kind, channel, recipient, recipient_timezone,
            body, segments, urgent, dedupe_key, next_attempt_at, created_at)
        SELECT gen_random_uuid(), $1, 'confirmation', 'sms',
               $3 || (2000000 + i)::text, 'America/New_York',
               'Bench Clinic: you are booked for Check-up Tue Dec 3 at 10:30 AM. Ref K7M2QX.', 1, true,
               $3 || ':' || i, now(), now()
        FROM generate_series(1, $2) AS i
        """,
        tenant,
        count,
        prefix,
    )
    sent = "SELECT count(*) FROM notification_outbox WHERE tenant_id = $1 AND status = 'sent'"
    while await connection.fetchval(sent, tenant) < count:  # noqa: ASYNC110 - polling other processes
        await asyncio.sleep(0.1)


async def _until_settled(processes: list[subprocess.Popen], within: float = 60) -> None:
    """Until every process has used under a tenth of a CPU for a second (Linux's /proc), or
    `within` seconds have passed."""
    ticks = os.sysconf("SC_CLK_TCK")

    def used(process: subprocess.Popen) -> float:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = [used(process) for process in processes]
        await asyncio.sleep(1)
        if all(used(process) - earlier < 0.1 for process, earlier in zip(processes, before, strict=True)):
            return


async def steady_run(
    database_url: str, env: dict[str, str], workers: int, rate: int, seconds: int
) -> list[float]:
    """Messages committed at a steady `rate` (a transaction every 50 ms), as bookings produce them;
    each one's latency from its commit to its `sent` status."""
    connection = await asyncpg.connect(database_url)
    tenant = await insert_tenant(connection)
    processes = [start([sys.executable, "-m", "backend.cli", "worker"], env) for _ in range(workers)]
    per_tick, tick = max(1, rate // 20), 0.05
    try:
        await asyncio.sleep(5)
        begin = time.monotonic()
        for n in range(seconds * 20):
            await asyncio.sleep(max(0.0, begin + n * tick - time.monotonic()))
            await connection.execute(
                """
                INSERT INTO notification_outbox (id, tenant_id, kind, channel, recipient, recipient_timezone,
                    body, segments, urgent, dedupe_key, next_attempt_at, created_at)
                SELECT gen_random_uuid(), $1, 'confirmation', 'sms',
                       '+1213' || (2000000 + $2 * 100 + i)::text,
                       'America/New_York', 'Bench Clinic: you are booked.', 1, true,
                       'steady:' || $2 || ':' || i, now(), clock_timestamp()
                FROM generate_series(1, $3) AS i
                """,
                tenant,
                n,
                per_tick,
            )
        total = seconds * 20 * per_tick
        sent = "SELECT count(*) FROM notification_outbox WHERE tenant_id = $1 AND status = 'sent'"
        while await connection.fetchval(sent, tenant) < total:  # noqa: ASYNC110 - polling other processes
            await asyncio.sleep(0.1)
        rows = await connection.fetch(
            "SELECT extract(epoch FROM updated_at - created_at) AS s FROM notification_outbox"
            " WHERE tenant_id = $1",
            tenant,
        )
    finally:
        stop(processes)
        await connection.close()
    return [float(row["s"]) for row in rows]


async def baseline_run(
    redis_url: str, env: dict[str, str], workers: int, count: int
) -> tuple[float, list[float]]:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    await pool.delete(DONE_KEY)
    processes = [
        start([sys.executable, "-m", "arq", "bench.arq_baseline.WorkerSettings"], env) for _ in range(workers)
    ]
    try:
        await asyncio.sleep(5)
        first = time.time()
        for i in range(count):
            await pool.enqueue_job(
                "send_sms", f"+1310{2000000 + i}", "Bench Clinic: you are booked.", time.time()
            )
        while await pool.llen(DONE_KEY) < count:  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.1)
        pairs = [line.split() for line in (v.decode() for v in await pool.lrange(DONE_KEY, 0, -1))]
    finally:
        stop(processes)
        await pool.aclose()
    latencies = [float(end) - float(start) for start, end in pairs]
    return max(float(end) for _, end in pairs) - first, latencies


def main(count: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    _, database_url, redis_url = prepare_services(data_dir)
    twilio, twilio_url = fake_twilio()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ADMIN_SECRET": "bench",
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio_url,
        "SMS_RATE_LIMIT_COUNT": "1000",
    }
    try:
        print(f"{count} SMS to a local Twilio API server (official twilio client), 2 cores", flush=True)
        for workers in (1, 2):
            elapsed, latencies = asyncio.run(outbox_run(database_url, env, workers, count))
            report(
                f"outbox, {workers} worker process{'es' if workers > 1 else ''}", count, elapsed, latencies
            )
            elapsed, latencies = asyncio.run(baseline_run(redis_url, env, workers, count))
            report(
                f"raw arq jobs, {workers} worker{'s' if workers > 1 else ''} (baseline)",
                count,
                elapsed,
                latencies,
            )
        steady = asyncio.run(steady_run(database_url, env, workers=2, rate=200, seconds=10))
        print(
            "  outbox, 2 workers, steady 200 msgs/s for 10 s: commit->sent"
            f" p50 {percentile(steady, 50) * 1000:.1f} ms"
            f"   p95 {percentile(steady, 95) * 1000:.1f} ms   p99 {percentile(steady, 99) * 1000:.1f} ms"
            f"   ({len(steady)} messages; target p95 <= 1000 ms)",
            flush=True,
        )
    finally:
        stop([twilio])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    main(parser.parse_args().messages)
