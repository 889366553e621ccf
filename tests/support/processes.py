"""Starting a server process for a test and waiting until it answers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def started(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> subprocess.Popen:
    """`command` running from the repository root, its output in `log`, once `ready_url` answers
    without a server error (a minute at most)."""
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(ready_url, timeout=1).status_code < 500:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{' '.join(command)} did not start:\n{log.read_text()}")
        time.sleep(0.2)
