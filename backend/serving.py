"""Running `frontdesk serve`: one or more uvicorn processes, the worker it may start beside them
(restarted with backoff if it dies), and a clean stop on SIGTERM as on Ctrl-C.

uvicorn re-raises SIGTERM/SIGINT with the handler that was installed before it started. The one
installed here exits through `sys.exit`, so the interpreter's exit handlers run: the embedded
PostgreSQL and Redis this process started stop with it instead of staying behind as orphans.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from backend.core.settings import Settings

log = logging.getLogger("frontdesk")

MAX_BACKOFF_SECONDS = 60.0
# A worker that ran this long before it died was healthy: the back-off starts over at 1 s.
HEALTHY_SECONDS = 60.0


def exit_cleanly_on_sigterm() -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)


def service_environment(settings: Settings) -> dict[str, str]:
    """What a child process (the worker, uvicorn's workers) needs to reach the same services."""
    assert settings.database_url is not None and settings.redis_url is not None
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    for name in ("admin_secret", "secrets_keys"):
        value = getattr(settings, name)
        if value is not None:
            env[name.upper()] = value.get_secret_value()
    return env


class WorkerSupervisor:
    """Keeps one `frontdesk worker` running: a worker that exits is started again, after 1 s, then
    2, 4 … up to a minute while it keeps dying (back to 1 s once one has run for a minute), and
    each exit is logged as an error."""

    def __init__(self, settings: Settings, healthy_seconds: float = HEALTHY_SECONDS) -> None:
        self.env = service_environment(settings)
        self.healthy_seconds = healthy_seconds
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        self.process = self._spawn()
        self.thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=self.env)

    def _watch(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            assert self.process is not None
            started = time.monotonic()
            code = self.process.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= self.healthy_seconds:
                backoff = 1.0
            self.restarts += 1
            log.error("the worker exited with code %s; starting it again in %.0f s", code, backoff)
            if self.stopping.wait(backoff):
                return
            self.process = self._spawn()
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
