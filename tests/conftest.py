"""Shared fixtures: real PostgreSQL and Redis, the app in-process, and a live server process.

With TEST_DATABASE_URL / TEST_REDIS_URL set those servers are used; otherwise embedded ones start
under var/test. Every run gets a fresh database; every test gets its own tenant, so tests never see
each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from backend.app import create_app
from backend.core import embedded, migrations
from backend.core.crypto import KeyRing
from backend.core.db import Database
from backend.core.settings import Settings
from backend.messaging.template_processes import TemplateProcesses
from tests.fakes import radicale_server
from tests.fakes import twilio_server as twilio
from tests.support.processes import started, stop

ROOT = Path(__file__).resolve().parent.parent
ADMIN_SECRET = "test-admin-secret"
SECRETS_KEYS = KeyRing.new_key("t1")
NY = ZoneInfo("America/New_York")
ALL_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _admin(server_url: str, statement: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    data_dir = ROOT / "var" / "test"
    server_url = os.environ.get("TEST_DATABASE_URL") or embedded.start_embedded_postgres(data_dir, "postgres")
    redis_url = os.environ.get("TEST_REDIS_URL") or embedded.start_embedded_redis(data_dir)
    name = f"frontdesk_test_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    database_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    migrations.upgrade_to_head(database_url)
    yield Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        admin_secret=ADMIN_SECRET,
        secrets_keys=SECRETS_KEYS,
        data_dir=data_dir,
        db_pool_size=20,
        db_max_overflow=20,
        # Suites open hundreds of chats from one address; tests/core/test_rate_limits.py turns them on.
        rate_limits_enabled=False,
    )
    _admin(server_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    yield database
    await database.dispose()


@asynccontextmanager
async def in_process_app(
    settings: Settings, template_processes: TemplateProcesses | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on these settings, called in-process through httpx (rendering tenant templates in
    `template_processes`, if given)."""
    app = create_app(settings)
    if template_processes is not None:
        app.state.template_processes = template_processes
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://frontdesk.test"
    ) as c:
        yield c
    await app.state.webhook_sender.close()
    await app.state.template_processes.close()
    await app.state.db.dispose()
    await app.state.redis.aclose()


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_app(settings) as c:
        yield c


@dataclass
class TenantHandle:
    """A tenant created through the admin API, with what tests need to drive it."""

    id: str
    slug: str
    key: str
    providers: dict[str, str]  # name -> id
    services: dict[str, str]  # name -> id
    body: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def tenant_spec(**overrides: Any) -> dict[str, Any]:
    """A clinic open 09:00-17:00 every day with a 12-13 lunch break, so any future date works."""
    hours = [
        {"weekday": day, "opens_at": opens, "closes_at": closes}
        for day in ALL_WEEK
        for opens, closes in (("09:00", "12:00"), ("13:00", "17:00"))
    ]
    spec: dict[str, Any] = {
        "name": "Test Clinic",
        "slug": f"t-{uuid.uuid4().hex[:12]}",
        "timezone": "America/New_York",
        "profile": "healthcare",
        "settings": {"min_lead_minutes": 0, "max_days_ahead": 400},
        "providers": [
            {"name": "Dr. Adams", "hours": hours},
            {"name": "Dr. Baker", "hours": hours},
        ],
        "services": [
            {"name": "Check-up", "duration_minutes": 30, "buffer_minutes": 0, "providers": ["Dr. Adams"]},
            {"name": "Cleaning", "duration_minutes": 60, "buffer_minutes": 15, "providers": ["Dr. Adams"]},
            {"name": "Consultation", "duration_minutes": 30, "aliases": ["consult"]},
        ],
    }
    spec.update(overrides)
    return spec


MakeTenant = Callable[..., Awaitable[TenantHandle]]


@pytest.fixture
def make_tenant(client: httpx.AsyncClient) -> MakeTenant:
    async def make(**overrides: Any) -> TenantHandle:
        body = tenant_spec(**overrides)
        response = await client.post("/api/v1/tenants", json=body, headers={"X-Admin-Secret": ADMIN_SECRET})
        assert response.status_code == 201, response.text
        data = response.json()
        return TenantHandle(
            id=data["tenant"]["id"],
            slug=data["tenant"]["slug"],
            key=data["api_key"]["key"],
            providers={p["name"]: p["id"] for p in data["providers"]},
            services={s["name"]: s["id"] for s in data["services"]},
            body=body,
        )

    return make


@pytest.fixture
async def tenant(make_tenant: MakeTenant) -> TenantHandle:
    return await make_tenant()


def local_day(days_ahead: int) -> date:
    return datetime.now(NY).date() + timedelta(days=days_ahead)


def weekday_ahead(days_ahead: int) -> date:
    """The first weekday (Monday to Friday: when a clinic open only then, like the demo's, is open)
    at least `days_ahead` days ahead."""
    day = local_day(days_ahead)
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def at(day: date, hh_mm: str) -> datetime:
    """An aware datetime for a New York wall-clock time."""
    hour, minute = map(int, hh_mm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[radicale_server.Radicale]:
    """A real CalDAV server (Radicale), started once for the tests that ask for it."""
    with radicale_server.running(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@dataclass
class LiveServer:
    base_url: str
    demo_key: str
    output: Path
    owner_email: str
    owner_password: str


def server_env(database_url: str, redis_url: str, data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of a `frontdesk serve` process of the suite's, listening on `port`."""
    return {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ADMIN_SECRET": ADMIN_SECRET,
        "SECRETS_KEYS": SECRETS_KEYS,
        "DATA_DIR": str(data_dir),
        "DB_POOL_SIZE": "20",
        "DB_MAX_OVERFLOW": "20",
        "RATE_LIMITS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": twilio.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": twilio.AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": twilio.FROM_NUMBER,
        **extra,
    }


@contextmanager
def serving_frontdesk(
    settings: Settings, data_dir: Path, extra_env: dict[str, str] | None = None, *, demo: bool = True
) -> Iterator[LiveServer]:
    """`frontdesk serve` as a separate process on a real port, on the test database; with `demo`,
    the demo clinic too (only one server may: a second would give its owner a new password)."""
    port = _free_port()
    output = data_dir / "serve.log"
    # Twilio reaches this server at its own address; nothing is sent (no worker runs here).
    env = server_env(
        settings.database_url or "", settings.redis_url or "", data_dir, port, **(extra_env or {})
    )
    process = started(
        [sys.executable, "-m", "backend.cli", "serve", *(["--demo"] if demo else []), "--port", str(port)],
        env,
        f"http://127.0.0.1:{port}/health",
        output,
    )
    try:
        yield LiveServer(
            base_url=f"http://127.0.0.1:{port}",
            demo_key=(data_dir / "demo_api_key").read_text().strip() if demo else "",
            output=output,
            owner_email="owner@demo-dental.example",
            owner_password=(data_dir / "demo_owner_password").read_text().strip() if demo else "",
        )
    finally:
        stop(process)


@pytest.fixture(scope="session")
def live_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`frontdesk serve --demo` as a separate process on a real port, on the test database."""
    with serving_frontdesk(settings, tmp_path_factory.mktemp("live")) as server:
        yield server


# The windows live in the shared Redis and are named after the limit: a limit of its own per run.
LIMITED_CHATS_PER_ADDRESS = random.randint(5, 40)


@pytest.fixture(scope="session")
def limited_server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A `frontdesk serve` with the abuse limits on: LIMITED_CHATS_PER_ADDRESS new chat connections
    a minute per address, two new conversations an hour per widget key (undivided)."""
    limits = {
        "RATE_LIMITS_ENABLED": "true",
        "RATE_LIMIT_CHAT_PER_IP": f"{LIMITED_CHATS_PER_ADDRESS}/minute",
        "RATE_LIMIT_CONVERSATIONS_PER_WIDGET_KEY": "2/hour",
        "WIDGET_KEY_SHARE_PER_ADDRESS": "1",
        "WIDGET_KEY_SHARE_PER_NETWORK": "1",
        # It answers a few connections: a small pool leaves the test server's connections to others.
        "DB_POOL_SIZE": "3",
        "DB_MAX_OVERFLOW": "3",
    }
    with serving_frontdesk(settings, tmp_path_factory.mktemp("limited"), limits, demo=False) as server:
        yield server
