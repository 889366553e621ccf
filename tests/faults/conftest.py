"""Fault injection on real servers. The suite has a PostgreSQL and a Redis of its own (stopping them
touches nothing else the test run uses), the fake Twilio with its delays (in the test's own event
loop, so tests count what it took by outbox id), and real `frontdesk worker` / `frontdesk serve`
processes to kill.

    services.postgres.stop() / .start()       the embedded PostgreSQL, stopped fast and started again
    services.redis.stop() / .start()          a redis-server process, killed and started on its port
    services.redis.freeze() / .thaw()         SIGSTOP / SIGCONT: connections hang instead of failing
    services.redis.flushall()
    processes.worker(**env) / processes.api(**env)   started on these servers; .kill() is SIGKILL

Settings for short leases and sweeps come in as environment variables (`OUTBOX_LEASE_SECONDS=…`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from backend.core import migrations
from backend.core.db import Database
from backend.core.settings import Settings
from tests.conftest import ADMIN_SECRET, ROOT, SECRETS_KEYS, _admin
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio, running_fake_twilio
from tests.support.stoppable import Postgres, RedisServer

WAIT_SECONDS = 120


@dataclass
class FaultServices:
    postgres: Postgres
    redis: RedisServer
    database_url: str
    data_dir: Path

    def settings(self, **overrides: object) -> Settings:
        return Settings(
            _env_file=None,
            environment="test",
            database_url=self.database_url,
            redis_url=self.redis.url,
            admin_secret=ADMIN_SECRET,
            secrets_keys=SECRETS_KEYS,
            data_dir=self.data_dir,
            rate_limits_enabled=False,
            **overrides,
        )


@pytest.fixture(scope="session")
def services() -> Iterator[FaultServices]:
    data_dir = ROOT / "var" / "test-faults"
    data_dir.mkdir(parents=True, exist_ok=True)
    postgres = Postgres(data_dir / "postgres")
    redis_server = RedisServer(data_dir)
    redis_server.start()
    name = f"frontdesk_faults_{uuid.uuid4().hex[:8]}"
    _admin(postgres.url, f'CREATE DATABASE "{name}"')
    database_url = make_url(postgres.url).set(database=name).render_as_string(hide_password=False)
    migrations.upgrade_to_head(database_url)
    try:
        yield FaultServices(postgres, redis_server, database_url, data_dir)
    finally:
        redis_server.thaw()
        redis_server.stop()
        postgres.start()  # a test that failed with it stopped
        _admin(postgres.url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def fault_db(services: FaultServices) -> AsyncIterator[Database]:
    database = Database(services.settings())
    yield database
    await database.dispose()


@pytest.fixture
async def fault_tenant(fault_db: Database) -> uuid.UUID:
    """A bare clinic (no providers or services): enough to own messages."""
    tenant = uuid.uuid4()
    connection = await asyncpg.connect(
        make_url(fault_db.engine.url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        await connection.execute(
            "INSERT INTO tenants (id, slug, name, timezone, profile, settings) "
            "VALUES ($1, $2, 'Fault Clinic', 'America/New_York', 'healthcare', '{}')",
            tenant,
            f"faults-{tenant.hex[:12]}",
        )
    finally:
        await connection.close()
    return tenant


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with running_fake_twilio() as fake:
        yield fake


@dataclass
class Process:
    kind: str
    popen: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no clean-up, no last words."""
        self.popen.kill()
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Processes:
    services: FaultServices
    twilio: FakeTwilio
    directory: Path
    started: list[Process] = field(default_factory=list)

    def environment(self, **env: str) -> dict[str, str]:
        return {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": self.services.database_url,
            "REDIS_URL": self.services.redis.url,
            "ADMIN_SECRET": ADMIN_SECRET,
            "SECRETS_KEYS": SECRETS_KEYS,
            "DATA_DIR": str(self.directory),
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": self.twilio.base_url,
            "RATE_LIMITS_ENABLED": "false",
            "WORKER_SWEEP_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            **env,
        }

    def worker(self, **env: str) -> Process:
        return self._start("worker", ["worker"], env)

    def api(self, port: int, **env: str) -> Process:
        return self._start("api", ["serve", "--port", str(port)], env)

    def _start(self, kind: str, command: list[str], env: dict[str, str]) -> Process:
        log = self.directory / f"{kind}-{len(self.started)}.log"
        with log.open("wb") as output:
            popen = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", *command],
                cwd=ROOT,
                env=self.environment(**env),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        process = Process(kind, popen, log)
        self.started.append(process)
        return process


@pytest.fixture
def processes(services: FaultServices, twilio: FakeTwilio, tmp_path: Path) -> Iterator[Processes]:
    running = Processes(services, twilio, tmp_path)
    try:
        yield running
    finally:
        for process in running.started:
            process.stop()


async def until(condition: Callable[[], Awaitable[bool]], what: str, seconds: float = WAIT_SECONDS) -> None:
    """Poll `condition` (an error while a server is down counts as not yet) until it holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if await condition():
                return
        except (OSError, asyncpg.PostgresError, httpx.TransportError, Exception):
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")
