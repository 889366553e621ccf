"""What the benchmarks share: a fresh database, a `frontdesk serve` process, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from backend.core import embedded, migrations

ROOT = Path(__file__).resolve().parent.parent

ADMIN_SECRET = "bench-admin-secret"
ALL_DAY = [
    {"weekday": d, "opens_at": "00:00", "closes_at": "23:55"}
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def fresh_database(server_url: str) -> str:
    name = f"frontdesk_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        connection = await asyncpg.connect(server_url)
        await connection.execute(f'CREATE DATABASE "{name}"')
        await connection.close()

    asyncio.run(create())
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def start_server(
    database_url: str,
    redis_url: str,
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    serve_args: tuple[str, ...] = (),
) -> tuple[subprocess.Popen, str]:
    port = port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ADMIN_SECRET": ADMIN_SECRET,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "20",
        "DB_MAX_OVERFLOW": "20",
        # The benches drive thousands of requests from one address: measure the paths, not the limits.
        "RATE_LIMITS_ENABLED": "false",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), *serve_args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("frontdesk serve did not start")


def start_http(command: list[str], port: int) -> tuple[subprocess.Popen, str]:
    """Start a local HTTP server process listening on `port`; return it once it answers."""
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/docs", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{' '.join(command)} did not start")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU a process has used so far (Linux /proc); None where that cannot be read.
    CPU per request is steadier than wall-clock rates on a shared machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_services(data_dir: Path) -> tuple[str, str, str]:
    """(server URL, a fresh migrated database URL, Redis URL): DATABASE_URL / REDIS_URL or embedded ones."""
    server_url = os.environ.get("DATABASE_URL") or embedded.start_embedded_postgres(data_dir, "postgres")
    redis_url = os.environ.get("REDIS_URL") or embedded.start_embedded_redis(data_dir)
    database_url = fresh_database(server_url)
    migrations.upgrade_to_head(database_url)
    return server_url, database_url, redis_url


async def insert_tenant(connection: asyncpg.Connection) -> uuid.UUID:
    """A bare tenant row, for benchmarks that write their work straight into the tables."""
    tenant = uuid.uuid4()
    await connection.execute(
        "INSERT INTO tenants (id, slug, name, timezone, profile, settings) "
        "VALUES ($1, $2, 'Bench Clinic', 'America/New_York', 'healthcare', '{}')",
        tenant,
        f"bench-{tenant.hex[:12]}",
    )
    return tenant
