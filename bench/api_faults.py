"""The API under faults, before and after issue 28 (items 5-9): the rows of its table, measured again.

- Redis frozen (SIGSTOP) 30 s: bookings made during the freeze, one client after another, and the
  longest a booking or `/health` took.
- PostgreSQL stopped 10 s under load (four clients booking, each retrying its Idempotency-Key):
  what the API answered meanwhile (500, 503 with and without Retry-After, bodies claiming "nothing
  was changed"), tracebacks in its log, and bookings lost or doubled.
- Two API processes and two workers, one of each killed: how long the retried Idempotency-Key of a
  booking killed mid-request answered 409 on the other API process, and whether a text whose turn
  died with its worker was answered (and how it was stored).
- A webhook receiver down 15 s during a burst of 20 events: the failures counted, how long the
  endpoint was paused for when it recovered, and how long after recovering everything arrived.

"Before" is the code as it was (`--before`, checked out into a temporary worktree and run from
there, on a database its own migrations built); "after" is this checkout. Same settings, same
machine, same run. Usage: python bench/api_faults.py [--before REV] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.scheduling.guards import lock_key  # noqa: E402
from bench.common import ADMIN_SECRET  # noqa: E402
from tests.conftest import at, iso, tenant_spec  # noqa: E402
from tests.fakes.openai_server import running_fake_openai  # noqa: E402
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, running_fake_twilio  # noqa: E402
from tests.fakes.webhook_receiver import running_receiver  # noqa: E402
from tests.support.faults import slots  # noqa: E402
from tests.support.stoppable import Postgres, RedisServer, free_port  # noqa: E402

# main just before this work.
BEFORE = "3d46f23"
WAIT_SECONDS = 120


@dataclass
class Code:
    """One version of the code, its own database, and the processes it runs."""

    name: str
    root: Path
    postgres: Postgres
    redis: RedisServer
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[tuple[subprocess.Popen, Path]] = field(default_factory=list)

    async def prepare(self, **settings: str) -> None:
        """A fresh database built by this code's migrations, and the settings its processes get."""
        self.redis.flushall()
        name = f"frontdesk_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(self.postgres.url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": make_url(self.postgres.url).set(database=name).render_as_string(False),
            "REDIS_URL": self.redis.url,
            "ADMIN_SECRET": ADMIN_SECRET,
            "DATA_DIR": str(self.data_dir),
            "LOG_LEVEL": "WARNING",
            "RATE_LIMITS_ENABLED": "false",
            "WORKER_SWEEP_SECONDS": "1",
            **settings,
        }
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "backend.cli", "migrate", cwd=self.root, env=self.env
        )
        assert await migrate.wait() == 0

    def start(self, *command: str, **env: str) -> tuple[subprocess.Popen, Path]:
        log = self.data_dir / f"{self.name}-{command[0]}-{len(self.processes)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", *command],
                cwd=self.root,
                env={**self.env, **env},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.processes.append((process, log))
        return process, log

    async def api(self, **env: str) -> tuple[subprocess.Popen, str, Path]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process, log = self.start("serve", "--port", str(port), PUBLIC_BASE_URL=url, **env)
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/health")).status_code == 200:
                        return process, url, log
                assert process.poll() is None, log.read_text()[-3000:]
                await asyncio.sleep(0.2)
        raise RuntimeError("frontdesk serve did not start")

    def stop(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.env["DATABASE_URL"])
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()


@dataclass
class Clinic:
    id: str
    auth: dict[str, str]
    service: str
    provider: str

    def booking(self, n: int) -> dict[str, object]:
        day, hh_mm = slots(n + 1)[n]
        return {
            "service_id": self.service,
            "starts_at": iso(at(day, hh_mm)),
            "customer": {"name": "Jane Doe", "phone": "+16175550100"},
        }


async def clinic(url: str) -> Clinic:
    async with httpx.AsyncClient(timeout=60) as client:
        made = await client.post(
            f"{url}/api/v1/tenants", json=tenant_spec(), headers={"X-Admin-Secret": ADMIN_SECRET}
        )
    made.raise_for_status()
    data = made.json()
    service = next(s["id"] for s in data["services"] if s["name"] == "Check-up")
    provider = next(p["id"] for p in data["providers"] if p["name"] == "Dr. Adams")
    return Clinic(
        data["tenant"]["id"], {"Authorization": f"Bearer {data['api_key']['key']}"}, service, provider
    )


# ---- the scenarios ----


async def redis_frozen(code: Code) -> str:
    await code.prepare(RATE_LIMITS_ENABLED="true")
    _, url, _ = await code.api()
    place = await clinic(url)
    booked, slowest, n = 0, 0.0, 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await client.post("/api/v1/bookings", json=place.booking(0), headers=place.auth)
        code.redis.freeze()
        thawed = asyncio.get_running_loop().call_later(30, code.redis.thaw)
        try:
            ends = time.monotonic() + 30
            while time.monotonic() < ends:
                n += 1
                began = time.monotonic()
                with contextlib.suppress(httpx.TransportError):
                    health = await client.get("/health")
                    answer = await client.post("/api/v1/bookings", json=place.booking(n), headers=place.auth)
                    if answer.status_code == 201 and health.status_code == 200 and time.monotonic() < ends:
                        booked += 1
                slowest = max(slowest, time.monotonic() - began)
        finally:
            thawed.cancel()
            code.redis.thaw()
    return f"{booked:3d} bookings during the 30 s, longest booking + /health {slowest:5.1f} s"


async def postgres_stopped(code: Code) -> str:
    await code.prepare()
    _, url, log = await code.api()
    place = await clinic(url)
    answers: list[httpx.Response] = []
    finals: list[httpx.Response] = []
    no_answer: list[float] = []  # when a request got no HTTP answer (connection refused or dropped)

    async def lane(client: httpx.AsyncClient, lane: int) -> None:
        for n in range(lane, 400, 4):
            key = f"lane-{lane}-{n}"
            while True:
                try:
                    answer = await client.post(
                        "/api/v1/bookings",
                        json=place.booking(n),
                        headers={**place.auth, "Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    no_answer.append(time.monotonic())
                    await asyncio.sleep(0.2)
                    continue
                answers.append(answer)
                if answer.status_code < 500 and not _retryable(answer):
                    finals.append(answer)
                    break
                await asyncio.sleep(min(float(answer.headers.get("retry-after", 0.2)), 1.0))
            if stop_after.is_set():
                return

    stop_after = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        lanes = asyncio.gather(*(lane(client, n) for n in range(4)))
        await asyncio.sleep(5)
        traced_before = log.read_text(errors="replace").count("Traceback")
        during_from, stopped_at = len(answers), time.monotonic()
        code.postgres.stop()
        await asyncio.sleep(10)
        code.postgres.start()
        await asyncio.sleep(10)
        tracebacks = log.read_text(errors="replace").count("Traceback") - traced_before
        stop_after.set()
        await lanes
    during = answers[during_from:]
    statuses = Counter(a.status_code for a in during)
    with_retry_after = sum(1 for a in during if a.status_code == 503 and "retry-after" in a.headers)
    claims = sum(1 for a in during if a.status_code >= 500 and "nothing was changed" in a.text)
    made = {
        str(r["id"])
        for r in await code.fetch("SELECT id FROM appointments WHERE tenant_id = $1", uuid.UUID(place.id))
    }
    answered = [a.json()["id"] for a in finals if a.status_code == 201]
    lost = len(set(answered) - made)
    doubled = len(made) - len(set(answered))
    shown = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    if dropped := sum(1 for at in no_answer if at >= stopped_at):
        shown += f", no HTTP answer: {dropped}"
    shown = shown.removeprefix(", ") or "none, every request still waiting"
    return (
        f"answers in the 20 s from the stop: {shown} ({with_retry_after} with Retry-After, "
        f"{claims} saying 'nothing was changed'); {tracebacks} tracebacks; "
        f"{lost} bookings lost, {doubled} doubled"
    )


def _retryable(answer: httpx.Response) -> bool:
    try:
        return bool(answer.json()["error"]["retryable"])
    except (ValueError, KeyError, TypeError):
        return False


async def api_killed(code: Code) -> str:
    await code.prepare()
    (first, first_url, _), (_, second_url, _) = await code.api(), await code.api()
    place = await clinic(first_url)
    body, headers = place.booking(3), {**place.auth, "Idempotency-Key": "killed-mid-request"}
    # Hold the calendar's day from outside, so the first request is still running when it dies.
    blocker = await asyncpg.connect(code.env["DATABASE_URL"])
    starts = datetime.fromisoformat(str(body["starts_at"]))
    await blocker.execute("BEGIN")
    await blocker.execute(
        "SELECT pg_advisory_xact_lock($1)", lock_key(uuid.UUID(place.provider), starts.date())
    )
    async with httpx.AsyncClient(timeout=60) as client:
        running = asyncio.create_task(client.post(f"{first_url}/api/v1/bookings", json=body, headers=headers))
        await _until(lambda: _fetched(code, WAITING_FOR_A_LOCK), 60)
        first.kill()
        first.wait()
        await asyncio.gather(running, return_exceptions=True)
        await blocker.execute("ROLLBACK")
        await blocker.close()
        killed = time.monotonic()
        statuses: Counter[int] = Counter()
        while time.monotonic() - killed < WAIT_SECONDS:
            answer = await client.post(f"{second_url}/api/v1/bookings", json=body, headers=headers)
            statuses[answer.status_code] += 1
            if answer.status_code != 409:
                break
            await asyncio.sleep(0.5)
        waited = time.monotonic() - killed
    booked = await code.fetch(
        "SELECT count(*) AS n FROM appointments WHERE tenant_id = $1", uuid.UUID(place.id)
    )
    outcome = f"201 {waited:5.1f} s after the kill" if statuses[201] else f"no 201 in {waited:.0f} s"
    return (
        f"the key retried on the other API: {statuses[409]} answers 409 IDEMPOTENCY_IN_PROGRESS, then "
        f"{outcome}; {booked[0]['n']} booking(s) made"
    )


async def worker_killed(code: Code) -> str:
    async with running_fake_openai() as model, running_fake_twilio() as twilio:
        model.script = [lambda body: 20.0, lambda body: 500]
        await code.prepare(
            LLM_API_KEY="sk-bench",
            LLM_BASE_URL=model.base_url,
            LLM_TIMEOUT_SECONDS="10",
            CHAT_TURN_LEASE_SECONDS="5",
            INBOUND_SMS_LEASE_SECONDS="5",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_FROM_NUMBER=FROM_NUMBER,
            TWILIO_API_BASE_URL=twilio.base_url,
        )
        _, url, _ = await code.api()
        place = await clinic(url)
        patient = f"+1212{uuid.uuid4().int % 8_000_000 + 2_000_000}"
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            added = await client.post(
                "/api/v1/phone-numbers", json={"number": "+16465550199", "label": "Front"}, headers=place.auth
            )
            practice = added.json()["number"]
            first, _ = code.start("worker")
            form = {
                "MessageSid": f"SM{uuid.uuid4().hex}",
                "From": patient,
                "To": practice,
                "Body": "Hi, a check-up?",
            }
            signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{url}/twilio/sms", form)
            await client.post("/twilio/sms", data=form, headers={"X-Twilio-Signature": signature})
        await _until(lambda: _true(bool(model.requests)), 60)
        first.kill()
        first.wait()
        killed = time.monotonic()
        code.start("worker")
        answered = await _until(lambda: _true(bool(twilio.to(patient))), WAIT_SECONDS)
        took = time.monotonic() - killed
        [row] = await code.fetch(
            "SELECT status, handling FROM inbound_sms WHERE message_sid = $1", form["MessageSid"]
        )
    told = f"answered {took:5.1f} s after the kill" if answered else f"never answered in {WAIT_SECONDS} s"
    return (
        f"the text whose worker died mid-turn: {told} (stored as {row['status']}, handling {row['handling']})"
    )


async def webhook_receiver_down(code: Code) -> str:
    await code.prepare()
    _, url, _ = await code.api()
    place = await clinic(url)
    code.start("worker")
    async with running_receiver() as receiver, httpx.AsyncClient(base_url=url, timeout=60) as client:
        made = await client.post(
            "/api/v1/webhook-endpoints",
            json={"url": receiver.url, "event_types": ["booking.created"]},
            headers=place.auth,
        )
        endpoint = uuid.UUID(made.json()["id"])
        await client.post("/api/v1/bookings", json=place.booking(0), headers=place.auth)
        await _until(lambda: _true(len(receiver.accepted) >= 1), 60)
        receiver.down = True
        await asyncio.gather(
            *(
                client.post("/api/v1/bookings", json=place.booking(n), headers=place.auth)
                for n in range(1, 21)
            )
        )
        await asyncio.sleep(15)
        receiver.down = False
        recovered = time.monotonic()
        [state] = await code.fetch(
            "SELECT failures, paused_until FROM webhook_endpoints WHERE id = $1", endpoint
        )
        paused_for = (
            (state["paused_until"] - datetime.now(UTC)).total_seconds() if state["paused_until"] else 0
        )
        arrived = await _until(lambda: _true(len({r.message_id for r in receiver.accepted}) >= 21), 180)
        took = time.monotonic() - recovered
    everything = (
        f"everything arrived {took:5.1f} s after" if arrived else "not everything arrived within 180 s of"
    )
    return (
        f"{state['failures']} failures counted, paused for {max(paused_for, 0):6.0f} s more at recovery; "
        f"{everything} the receiver recovered"
    )


async def _true(value: bool) -> bool:
    return value


WAITING_FOR_A_LOCK = (
    "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
)


async def _fetched(code: Code, query: str) -> bool:
    return bool((await code.fetch(query))[0]["n"])


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.2)
    return False


Scenario = Callable[[Code], Awaitable[str]]
SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "redis": ("Redis frozen (SIGSTOP) 30 s", redis_frozen),
    "postgres": ("PostgreSQL stopped 10 s under load", postgres_stopped),
    "api": ("two API processes, one killed mid-request", api_killed),
    "worker": ("a worker killed mid-turn, another started", worker_killed),
    "webhooks": ("webhook receiver down 15 s during a burst of 20", webhook_receiver_down),
}


@contextlib.contextmanager
def versions(before: str) -> Iterator[list[Code]]:
    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-api-faults-"))
    old = data_dir / "before"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(old), before], cwd=ROOT, check=True)
    postgres = Postgres(data_dir / "postgres")
    redis = RedisServer(data_dir)
    redis.start()
    try:
        yield [
            Code(name, root, postgres, redis, data_dir) for name, root in (("before", old), ("after", ROOT))
        ]
    finally:
        redis.thaw()
        redis.stop()
        postgres.start()
        subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)


async def measured(scenario: Scenario, code: Code) -> str:
    try:
        return await scenario(code)
    except Exception as error:  # a scenario that breaks is a figure too
        return f"failed: {type(error).__name__}: {error}"[:300]
    finally:
        code.stop()


def main(before: str, only: list[str]) -> None:
    print(f"before = {before}, after = this checkout", flush=True)
    with versions(before) as codes:
        for name, (label, scenario) in SCENARIOS.items():
            if only and name not in only:
                continue
            for code in codes:
                outcome = asyncio.run(measured(scenario, code))
                print(f"  {label:<48} {code.name:<6} {outcome}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--only", nargs="*", default=[], choices=sorted(SCENARIOS))
    arguments = parser.parse_args()
    main(arguments.before, arguments.only)
