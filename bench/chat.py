"""Web chat throughput: N concurrent Socket.IO clients, each holding full booking conversations.

Every client connects to a real `frontdesk serve` process (deterministic engine, embedded
PostgreSQL and Redis) with a publishable key, to a clinic with the demo clinic's FAQ, and books:
asks for a service and a day, taps a time, gives a name and an e-mail, says yes — re-picking when a
time was just taken. A turn is timed from sending the message to the server's acknowledgement,
which comes after every reply was stored and emitted. The baseline is a bare python-socketio echo
server, measured in the same run with the same client, clients and number of turns.

Usage: python bench/chat.py [--clients 20] [--conversations 3] [--warmup 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.faq.demo import DEMO_FAQ  # noqa: E402
from bench.common import (  # noqa: E402
    ADMIN_SECRET,
    ALL_DAY,
    free_port,
    percentile,
    prepare_services,
    process_cpu_seconds,
    start_server,
)

ORIGIN = "http://bench.local"
TZ = ZoneInfo("America/New_York")


class Patient:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.sio = socketio.AsyncClient(reconnection=False)
        self.replies: list[dict] = []
        self.sio.on("message", self._on_message)
        self.turn_ms: list[float] = []

    def _on_message(self, data: dict) -> None:
        if data.get("role") == "assistant":
            self.replies.append(data)

    async def connect(self, token: str | None = None) -> None:
        await self.sio.connect(
            self.base,
            auth={"key": self.key, "token": token},
            headers={"Origin": ORIGIN},
            transports=["websocket"],
        )

    async def say(self, text: str, choice: str | None = None) -> dict:
        self.replies.clear()
        started = time.perf_counter()
        ack = await self.sio.call("message", {"text": text, "choice": choice}, timeout=60)
        self.turn_ms.append((time.perf_counter() - started) * 1000)
        if not ack.get("ok"):
            raise RuntimeError(f"turn failed: {ack}")
        for _ in range(500):  # the ack follows the emits; they are normally here already
            if self.replies:
                break
            await asyncio.sleep(0.002)
        return self.replies[-1]

    async def book(self, day: str) -> None:
        """One booking conversation; new conversation each time (a fresh resume token)."""
        await self.sio.disconnect()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("message", self._on_message)
        await self.connect()
        await self.sio.call("hello", {"last_seq": 0})
        reply = await self.say(f"I'd like to book a visit on {day}")
        for _ in range(12):
            text, chips = reply["text"], reply["quick_replies"]
            if "You're booked" in text:
                return
            times = [c for c in chips if c["value"].startswith("slot:")]
            if times:
                pick = random.choice(times)
                reply = await self.say(pick["label"], pick["value"])
            elif "What name" in text:
                reply = await self.say("Pat Bench")
            elif "phone number or e-mail" in text:
                reply = await self.say("pat@example.com")
            elif "Shall I book it?" in text:
                reply = await self.say("yes")
            else:
                reply = await self.say(f"any time on {day}")
        raise RuntimeError(f"conversation did not finish: {reply['text']}")


async def run_frontdesk(
    base: str, key: str, clients: int, conversations: int, warmup: int = 0
) -> tuple[float, list[float]]:
    patients = [Patient(base, key) for _ in range(clients)]
    await asyncio.gather(*(p.connect() for p in patients))
    first = datetime.now(TZ).date() + timedelta(days=2)

    async def patient_loop(index: int, patient: Patient, offset: int, count: int) -> None:
        for n in range(offset, offset + count):
            day = first + timedelta(days=(index * (warmup + conversations) + n) % 300)
            await patient.book(day.isoformat())

    # Untimed first conversations: every pooled connection has prepared its statements, as in a
    # server that has been up for a while.
    await asyncio.gather(*(patient_loop(i, p, 0, warmup) for i, p in enumerate(patients)))
    for patient in patients:
        patient.turn_ms.clear()
    started = time.perf_counter()
    await asyncio.gather(*(patient_loop(i, p, warmup, conversations) for i, p in enumerate(patients)))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(p.sio.disconnect() for p in patients))
    return elapsed, [ms for p in patients for ms in p.turn_ms]


async def run_echo(base: str, clients: int, turns_each: int) -> tuple[float, list[float]]:
    patients = [Patient(base, "unused") for _ in range(clients)]
    await asyncio.gather(*(p.connect() for p in patients))

    async def patient_loop(patient: Patient) -> None:
        for n in range(turns_each):
            await patient.say(f"message {n}")

    started = time.perf_counter()
    await asyncio.gather(*(patient_loop(p) for p in patients))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(p.sio.disconnect() for p in patients))
    return elapsed, [ms for p in patients for ms in p.turn_ms]


def report(label: str, elapsed: float, latencies: list[float]) -> float:
    rate = len(latencies) / elapsed
    print(
        f"  {label:<34} {rate:8.1f} turns/s   p50 {percentile(latencies, 50):7.2f} ms   "
        f"p95 {percentile(latencies, 95):7.2f} ms   p99 {percentile(latencies, 99):7.2f} ms   "
        f"({len(latencies)} turns)"
    )
    return rate


def create_tenant_and_key(base: str, providers: int, slug: str = "bench-chat") -> str:
    spec = {
        "name": "Bench Clinic",
        "slug": slug,
        "timezone": "America/New_York",
        "settings": {"min_lead_minutes": 0, "max_days_ahead": 400, "far_date_confirm_days": 400},
        "providers": [{"name": f"Provider {i}", "hours": ALL_DAY} for i in range(providers)],
        "services": [{"name": "Visit", "duration_minutes": 30}],
    }
    created = httpx.post(
        f"{base}/api/v1/tenants", json=spec, headers={"X-Admin-Secret": ADMIN_SECRET}, timeout=30
    )
    created.raise_for_status()
    secret = created.json()["api_key"]["key"]
    # A clinic with a real FAQ: every turn reads it.
    for entry in DEMO_FAQ:
        httpx.post(
            f"{base}/api/v1/faq", headers={"Authorization": f"Bearer {secret}"}, json=entry.model_dump()
        ).raise_for_status()
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {secret}"},
        json={"kind": "publishable", "allowed_origins": [ORIGIN]},
    )
    key.raise_for_status()
    return key.json()["key"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--conversations", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed conversations per client first")
    args = parser.parse_args()

    data_dir = ROOT / "var" / "bench"
    _, database_url, redis_url = prepare_services(data_dir)
    frontdesk, base = start_server(database_url, redis_url, data_dir)
    echo_port = free_port()
    echo = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "socketio_echo.py"), str(echo_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"Frontdesk web chat benchmark — {args.clients} clients, {os.cpu_count()} cores")
    try:
        key = create_tenant_and_key(base, providers=4)
        cpu_before = process_cpu_seconds(frontdesk.pid)
        elapsed, latencies = asyncio.run(
            run_frontdesk(base, key, args.clients, args.conversations, args.warmup)
        )
        ours = report("frontdesk booking conversations", elapsed, latencies)
        time.sleep(0.5)
        per_client = len(latencies) // args.clients
        echo_before = process_cpu_seconds(echo.pid)
        elapsed, baseline_latencies = asyncio.run(
            run_echo(f"http://127.0.0.1:{echo_port}", args.clients, per_client)
        )
        baseline = report("baseline: socket.io echo", elapsed, baseline_latencies)
        print(f"  frontdesk turns run at {ours / baseline:.1%} of the bare Socket.IO echo rate")
        if cpu_before is not None and echo_before is not None:
            server_ms = (process_cpu_seconds(frontdesk.pid) - cpu_before) * 1000 / len(latencies)
            echo_ms = (process_cpu_seconds(echo.pid) - echo_before) * 1000 / len(baseline_latencies)
            print(f"  server CPU per turn: frontdesk {server_ms:.2f} ms, echo {echo_ms:.3f} ms")
    finally:
        for process in (frontdesk, echo):
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
