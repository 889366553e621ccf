"""Phone calls under load: simulated calls at once, each a whole booking by signed Twilio voice
webhooks to `frontdesk serve` (dial, ask for a visit on the call's own day, press 1, give a name,
say yes, say goodbye).

It prints the turn webhook's p50/p95/p99 (and the call webhook's, every call ringing at once)
next to, in the same run and at the same concurrency,
(a) the voice status callback of the same server (signed, verified, no agent turn) and (b) a bare
FastAPI endpoint returning static TwiML (bench/twiml_baseline.py: no signature, no database).
Then it checks that no call's state mixed with another's: every option a call heard was on its own
day, every call booked its own distinct time, under its own caller's name and number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ADMIN_SECRET, ALL_DAY, percentile  # noqa: E402
from bench.outbox import sms_deployment, stop  # noqa: E402
from bench.webhooks import baseline_server  # noqa: E402
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN  # noqa: E402

PRACTICE = "+16465550188"
TIMEZONE = ZoneInfo("America/New_York")
NAMES = ("Ada", "Ben", "Cleo", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")


@dataclass
class Call:
    index: int
    day: date
    sid: str
    number: str
    name: str
    heard: list[str] = field(default_factory=list)
    turn_seconds: list[float] = field(default_factory=list)
    ring_seconds: float = 0.0


def set_up_tenant(base: str, calls: int) -> dict[str, str]:
    spec = {
        "name": "Bench Clinic",
        "slug": "bench-voice",
        "timezone": "America/New_York",
        "settings": {"min_lead_minutes": 0, "max_days_ahead": 400, "max_concurrent_calls": calls + 5},
        "providers": [{"name": "Provider", "hours": ALL_DAY}],
        "services": [{"name": "Visit", "duration_minutes": 30}],
    }
    created = httpx.post(
        f"{base}/api/v1/tenants", json=spec, headers={"X-Admin-Secret": ADMIN_SECRET}, timeout=30
    )
    created.raise_for_status()
    auth = {"Authorization": f"Bearer {created.json()['api_key']['key']}"}
    httpx.post(f"{base}/api/v1/phone-numbers", headers=auth, json={"number": PRACTICE}).raise_for_status()
    return auth


class Line:
    """Posts one call's webhooks the way Twilio does, signed for the public URL."""

    def __init__(self, client: httpx.AsyncClient, base: str, public: str, call: Call) -> None:
        self.client, self.base, self.public, self.call = client, base, public, call
        self.validator = RequestValidator(AUTH_TOKEN)
        self.step = 0

    async def post(self, path: str, extra: dict[str, str]) -> tuple[httpx.Response, float]:
        params = {
            "CallSid": self.call.sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.call.number,
            "To": PRACTICE,
            **extra,
        }
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.public + path, params)}
        started = time.perf_counter()
        response = await self.client.post(self.base + path, data=params, headers=headers)
        took = time.perf_counter() - started
        response.raise_for_status()
        return response, took

    async def turn(self, speech: str = "", digits: str = "") -> str:
        self.step += 1
        extra = {"Digits": digits} if digits else {"SpeechResult": speech, "Confidence": "0.9"}
        response, took = await self.post(f"/twilio/voice/turn?step={self.step}", extra)
        self.call.turn_seconds.append(took)
        heard = " ".join(say.text or "" for say in ElementTree.fromstring(response.text).iter("Say"))
        self.call.heard.append(heard)
        return heard

    async def status_ping(self) -> float:
        """The status callback Twilio sends while a call rings on: verified, and nothing to do."""
        return (await self.post("/twilio/voice/status", {"CallStatus": "in-progress"}))[1]


async def book(line: Line, status_seconds: list[float]) -> None:
    call = line.call
    call.ring_seconds = (await line.post("/twilio/voice", {"CallStatus": "ringing"}))[1]
    status_seconds.append(await line.status_ping())
    day = f"{call.day:%B} {call.day.day}"
    offered = await line.turn(f"I'd like a visit on {day}")
    status_seconds.append(await line.status_ping())
    if "option one" not in offered.lower():
        raise AssertionError(f"call {call.index}: no options read for {day}: {offered}")
    await line.turn(digits="1")
    status_seconds.append(await line.status_ping())
    asked = call.heard[-1]
    if "name" in asked.lower():
        await line.turn(call.name)
    confirmed = await line.turn("yes")
    if "You're booked" not in confirmed:
        raise AssertionError(f"call {call.index} not booked: {call.heard}")
    await line.turn("no that's all")


def _mixed(calls: list[Call], bookings: list[dict]) -> list[str]:
    """What shows one call's state in another's: an option on another call's day, a booking not on
    its own caller's day, two calls on one time."""
    problems = []
    day_of = {c.index: re.compile(rf"\b{c.day:%A}, {c.day:%B} {c.day.day}\b") for c in calls}
    for call in calls:
        offer = call.heard[0]
        others = [i for i, said in day_of.items() if i != call.index and said.search(offer)]
        if not day_of[call.index].search(offer) or others:
            problems.append(f"call {call.index} heard {offer!r}")
    by_phone = {b["customer"]["phone"]: b for b in bookings}
    for call in calls:
        booked = by_phone.get(call.number)
        if booked is None:
            problems.append(f"call {call.index}: no booking for its number")
            continue
        starts = datetime.fromisoformat(booked["starts_at"]).astimezone(TIMEZONE)
        if starts.date() != call.day or booked["customer"]["name"] != call.name:
            problems.append(f"call {call.index}: booked {starts} for {booked['customer']['name']}")
    if len({b["starts_at"] for b in bookings}) != len(bookings):
        problems.append("two bookings on one time")
    return problems


async def bare_run(url: str, concurrency: int, requests: int) -> list[float]:
    """The static TwiML endpoint, hit by `concurrency` clients at once."""
    times: list[float] = []

    async def client_loop(client: httpx.AsyncClient, n: int) -> None:
        for _ in range(n):
            started = time.perf_counter()
            response = await client.post(url + "/twilio/voice", data={"CallSid": "CA0", "From": "+1"})
            times.append(time.perf_counter() - started)
            response.raise_for_status()

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(client_loop(client, requests // concurrency) for _ in range(concurrency)))
    return times


async def run(base: str, public: str, bare_url: str, auth: dict[str, str], count: int) -> None:
    tomorrow = datetime.now(TIMEZONE).date() + timedelta(days=1)
    calls = [
        Call(
            index=i,
            day=tomorrow + timedelta(days=i),
            sid=f"CA{i:032d}",
            number=f"+1212555{i:04d}",
            name=f"{NAMES[i % len(NAMES)]} Caller{chr(65 + i)}",
        )
        for i in range(count)
    ]
    status_seconds: list[float] = []
    limits = httpx.Limits(max_connections=count * 2, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        began = time.monotonic()
        results = await asyncio.gather(
            *(book(Line(client, base, public, call), status_seconds) for call in calls),
            return_exceptions=True,
        )
        elapsed = time.monotonic() - began
    failed = [r for r in results if isinstance(r, BaseException)]
    bare = await bare_run(bare_url, count, len(status_seconds) * 2)
    async with httpx.AsyncClient(timeout=30) as client:
        bookings = await client.get(f"{base}/api/v1/bookings", headers=auth, params={"limit": 200})
    bookings.raise_for_status()
    items = bookings.json()["items"]
    turns = [t for c in calls for t in c.turn_seconds]
    rings = [c.ring_seconds for c in calls if c.ring_seconds]

    def row(label: str, values: list[float]) -> str:
        p50, p95, p99 = (percentile(values, p) * 1000 for p in (50, 95, 99))
        return f"  {label:<40} p50 {p50:7.1f}   p95 {p95:7.1f}   p99 {p99:7.1f} ms   ({len(values)})"

    print(f"Voice load: {count} calls at once, whole bookings by signed webhooks, {os.cpu_count()} cores")
    print(row("turn webhook (agent turn, TwiML)", turns))
    print(row("call webhook (all ringing at once)", rings))
    print(row("status callback, same server", status_seconds))
    print(row("bare static TwiML endpoint", bare))
    print(f"  {count - len(failed)}/{count} calls booked in {elapsed:.1f} s; {len(items)} bookings stored")
    for error in failed:
        print(f"  FAILED: {error}")
    problems = _mixed([c for c, r in zip(calls, results, strict=True) if r is None], items)
    print("  state mixed between calls: " + ("; ".join(problems) if problems else "none"))


def main(count: int) -> None:
    baseline, bare_url = baseline_server()
    try:
        with sms_deployment(workers=0) as deployment:
            auth = set_up_tenant(deployment.base, count)
            asyncio.run(run(deployment.base, deployment.public, bare_url, auth, count))
    finally:
        stop([baseline])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20)
    main(parser.parse_args().calls)
