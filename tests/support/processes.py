"""Starting a server process for a test and waiting until it answers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def started(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> subprocess.Popen:
    """`command` running from the repository root, its output in `log`, once `ready_url` answers
    without a server error (two minutes at most: a loaded machine imports slowly)."""
    with log.open("w") as output:
        # A group of its own, so that `stop` reaches the processes it starts too (a worker).
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(ready_url, timeout=1).status_code < 500:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            _kill_group(process)
            raise RuntimeError(f"{' '.join(command)} did not start:\n{log.read_text()}")
        time.sleep(0.2)


def stop(process: subprocess.Popen, grace_seconds: float = 60) -> None:
    """SIGTERM (requests in flight finish, a worker stops), then SIGKILL to the process and what it
    started if that takes too long: nothing of it is left running against the suite's database."""
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        _kill_group(process)


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
