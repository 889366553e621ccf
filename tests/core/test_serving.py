"""`frontdesk serve` as an operator runs it: a worker that dies is started again and reported, and
SIGTERM stops the embedded PostgreSQL and Redis it started instead of leaving them behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.serving import WorkerSupervisor
from tests.conftest import ROOT, _free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_worker_that_dies_is_started_again(settings, caplog):
    supervisor = WorkerSupervisor(settings)
    supervisor.start()
    try:
        first = supervisor.process
        assert first is not None
        first.kill()
        for _ in range(100):
            if supervisor.process is not first:
                break
            time.sleep(0.1)
        assert supervisor.process is not first and supervisor.restarts == 1
        assert supervisor.process.poll() is None
        assert "the worker exited with code -9; starting it again in 1 s" in caplog.text
    finally:
        supervisor.stop()
    assert supervisor.process.poll() is not None


def test_sigterm_stops_the_embedded_servers_serve_started(tmp_path: Path):
    port = _free_port()
    redis_before = _redis_servers()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING", "RATE_LIMITS_ENABLED": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--with-worker", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)
        postgres = int((tmp_path / "postgres" / "postmaster.pid").read_text().split()[0])
        redis = _redis_servers() - redis_before
        assert _alive(postgres) and redis
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        for _ in range(100):
            if not _alive(postgres):
                break
            time.sleep(0.1)
        assert not _alive(postgres), "the embedded PostgreSQL outlived serve"
        assert not any(_alive(pid) for pid in redis), "the embedded Redis outlived serve"
    finally:
        if server.poll() is None:
            server.kill()


def _redis_servers() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"redis-server" in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue  # it ended while we looked
    return found
