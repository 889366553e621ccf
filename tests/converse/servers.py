"""A `frontdesk serve --with-worker` of its own, on its own database and Redis database, texting
through a local Twilio server: scripts may text it and read the answers from its outbox, and its
worker never touches what the rest of the suite keeps in the shared ones."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from backend.core import migrations
from backend.core.settings import Settings
from tests.conftest import _admin as run_on_server
from tests.conftest import server_env
from tests.fakes import twilio_server as twilio
from tests.fakes.serving import free_port
from tests.support.processes import started, stop

# Out of the way of the suite's own Redis database.
REDIS_DATABASE = 5


@dataclass
class TextingServer:
    base_url: str
    database_url: str
    auth_token: str

    async def scalar(self, sql: str) -> object:
        url = make_url(self.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()


def _on_server(database_url: str, statement: str) -> None:
    """`statement` on the PostgreSQL server that holds `database_url`'s database."""
    server = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    run_on_server(server, statement)


@contextmanager
def texting_server(settings: Settings, data_dir: Path) -> Iterator[TextingServer]:
    assert settings.database_url and settings.redis_url
    name = f"frontdesk_texting_{uuid.uuid4().hex[:8]}"
    _on_server(settings.database_url, f'CREATE DATABASE "{name}"')
    database_url = make_url(settings.database_url).set(database=name).render_as_string(hide_password=False)
    migrations.upgrade_to_head(database_url)
    twilio_port, port = free_port(), free_port()
    fake = started(
        [sys.executable, "-m", "tests.fakes.twilio_server", str(twilio_port)],
        dict(os.environ),
        f"http://127.0.0.1:{twilio_port}/docs",
        data_dir / "twilio.log",
    )
    separator = "&" if "?" in settings.redis_url else "?"
    redis_url = f"{settings.redis_url}{separator}db={REDIS_DATABASE}"
    env = server_env(
        database_url, redis_url, data_dir, port, TWILIO_API_BASE_URL=f"http://127.0.0.1:{twilio_port}"
    )
    server = None
    try:
        server = started(
            [sys.executable, "-m", "backend.cli", "serve", "--with-worker", "--port", str(port)],
            env,
            f"http://127.0.0.1:{port}/health",
            data_dir / "serve.log",
        )
        yield TextingServer(f"http://127.0.0.1:{port}", database_url, twilio.AUTH_TOKEN)
    finally:
        for process in (server, fake):
            if process is not None:
                stop(process)
        _on_server(settings.database_url, f'DROP DATABASE "{name}" WITH (FORCE)')
