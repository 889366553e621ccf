"""A chat flood against a `frontdesk serve` process: 5,000 `message` events on one Socket.IO
connection, while another clinic's patient holds steady booking conversations.

The other patient's turns (message sent -> acknowledged, every reply stored and emitted) are timed
for a window from the flood's first event until every flood event was answered (at least
`--window` seconds), and the same patient's turns for the same length alone, in the same run, are
the baseline. Goal: the other clinic's p99 under 1 s during the flood. The patient waits for each
answer before the next message, so one long stall is one sample: the "corrected" p99 also counts
the turns that stall kept from starting (HdrHistogram's correction for coordinated omission, at
the baseline's median interval). Also printed: what the flood's events got back (acknowledged,
refused by code, never answered) and how long the last answer took.

Usage: python bench/hostile_flood.py [--events 5000] [--window 10]
(bench/hostile_input.py runs it too.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat import ORIGIN, TZ, Patient, create_tenant_and_key  # noqa: E402
from bench.common import percentile, prepare_services, process_cpu_seconds, start_server  # noqa: E402

ANSWER_WAIT_SECONDS = 120


async def steady(patient: Patient, until: asyncio.Event, failures: Counter[str]) -> list[tuple[float, float]]:
    """Booking conversations one after another until `until` is set: (start, ms) per turn."""
    timed: list[tuple[float, float]] = []
    first = datetime.now(TZ).date() + timedelta(days=2)
    n = 0
    while not until.is_set():
        patient.turn_ms.clear()
        began = time.perf_counter()
        try:
            await patient.book((first + timedelta(days=n % 300)).isoformat())
        except Exception as error:  # a refused or lost turn still counts with the time it took
            failures[str(error)[:80]] += 1
        n += 1
        # book() records each turn's duration; turns within a conversation run back to back.
        at = began
        for ms in patient.turn_ms:
            timed.append((at, ms))
            at += ms / 1000
    return timed


async def flood(base: str, key: str, events: int) -> tuple[float, float, Counter[str]]:
    """`events` messages on one connection, all sent at once: (start, seconds to the last answer,
    answers by kind)."""
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base, auth={"key": key}, headers={"Origin": ORIGIN}, transports=["websocket"])
    await sio.call("hello", {"last_seq": 0})
    answers: Counter[str] = Counter()
    answered = asyncio.Event()
    last = [0.0]

    def ack(reply: dict | None = None) -> None:
        refused = (reply or {}).get("error", {}).get("code", "?")
        kind = "acknowledged" if reply and reply.get("ok") else refused
        answers[kind] += 1
        last[0] = time.perf_counter()
        if sum(answers.values()) == events:
            answered.set()

    started = time.perf_counter()
    for n in range(events):
        await sio.emit("message", {"text": f"hello {n}", "client_message_id": f"flood-{n}"}, callback=ack)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(answered.wait(), ANSWER_WAIT_SECONDS)
    answers["never answered"] = events - sum(answers.values())
    await sio.disconnect()
    return started, (last[0] or time.perf_counter()) - started, answers


def corrected(latencies: list[float], interval: float) -> list[float]:
    """Each turn, plus the turns a patient sending every `interval` ms would have started while it
    was stalled, with the time each of those would have waited."""
    filled = list(latencies)
    for ms in latencies:
        missed = ms - interval
        while missed > interval:
            filled.append(missed)
            missed -= interval
    return filled


async def measure(base: str, events: int, window: float, server_pid: int) -> None:
    flooded = create_tenant_and_key(base, providers=1, slug="flooded")
    other = create_tenant_and_key(base, providers=4, slug="bystander")
    patient = Patient(base, other)
    await patient.connect()
    await patient.book((datetime.now(TZ).date() + timedelta(days=1)).isoformat())  # untimed warm-up

    alone_failures: Counter[str] = Counter()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(window, stop.set)
    began = time.perf_counter()
    alone = [ms for _, ms in await steady(patient, stop, alone_failures)]
    alone_seconds = time.perf_counter() - began

    flood_failures: Counter[str] = Counter()
    stop = asyncio.Event()
    bystander = asyncio.create_task(steady(patient, stop, flood_failures))
    cpu_before = process_cpu_seconds(server_pid)
    started, took, answers = await flood(base, flooded, events)
    cpu = (process_cpu_seconds(server_pid) or 0) - (cpu_before or 0)
    remaining = window - (time.perf_counter() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    stop.set()
    during = [ms for at, ms in await bystander if at >= started]
    await patient.sio.disconnect()

    print(
        f"  flood: {events} events on one connection, last answered after {took:.1f} s "
        f"(server CPU meanwhile {cpu:.1f} s, the other clinic's turns included)"
    )
    print(f"    answers: {dict(answers.most_common())}")
    print("  the other clinic's turns (goal: p99 under 1 s during the flood):")
    interval = percentile(alone, 50)
    rows = (
        (f"during the flood ({max(took, window):.0f} s)", during, flood_failures),
        (f"baseline: alone ({alone_seconds:.0f} s)", alone, alone_failures),
    )
    for label, took_ms, failures in rows:
        if not took_ms:
            print(f"    {label:<32} no turn finished")
            continue
        print(
            f"    {label:<32} p50 {percentile(took_ms, 50):7.1f}  p95 {percentile(took_ms, 95):7.1f}  "
            f"p99 {percentile(took_ms, 99):7.1f}  corrected p99 "
            f"{percentile(corrected(took_ms, interval), 99):7.1f}  max {max(took_ms):7.1f} ms  "
            f"({len(took_ms)} turns, {sum(failures.values())} failed conversations)"
        )
        for reason, count in failures.most_common(3):
            print(f"      {count} x {reason}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--window", type=float, default=10, help="seconds measured at least, each way")
    args, _ = parser.parse_known_args(argv)
    print("Chat flood (one connection) against another clinic's conversations:")
    with tempfile.TemporaryDirectory() as scratch:
        _, database_url, redis_url = prepare_services(ROOT / "var" / "bench")
        server, base = start_server(database_url, redis_url, Path(scratch))
        try:
            asyncio.run(measure(base, args.events, args.window, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
