"""A real CalDAV server for the calendar tests: Radicale (PyPI `radicale`), started as its own
process on a free port, with plain htpasswd accounts a test can add as it goes.

Tests write calendars through the `caldav` library as any other CalDAV client would.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import caldav
import httpx

from tests.fakes.serving import free_port


@dataclass(frozen=True)
class CaldavAccount:
    server_url: str
    username: str
    password: str

    def client(self) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.server_url, username=self.username, password=self.password)

    def make_calendar(self, name: str = "Work") -> caldav.Calendar:
        slug = "".join(ch for ch in name.lower() if ch.isalnum()) or "calendar"
        return self.client().principal().make_calendar(name=name, cal_id=slug)


@dataclass
class Radicale:
    base_url: str
    users_file: Path

    def new_account(self) -> CaldavAccount:
        username = f"dr{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(12)
        with self.users_file.open("a") as users:
            users.write(f"{username}:{password}\n")
        return CaldavAccount(self.base_url, username, password)


@contextmanager
def running(root: Path) -> Iterator[Radicale]:
    root.mkdir(parents=True, exist_ok=True)
    users = root / "users"
    users.write_text("")
    port = free_port()
    config = root / "config"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n"
        f"[storage]\nfilesystem_folder = {root / 'collections'}\n"
        "[logging]\nlevel = error\n"
    )
    log = (root / "radicale.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base_url, timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"radicale did not start: {(root / 'radicale.log').read_text()}") from None
            time.sleep(0.1)
    try:
        yield Radicale(base_url, users)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
