"""Messages under faults, before and after issue 28: 300 confirmations through `frontdesk worker`
to a local Twilio server that takes a second per message, while the worker is killed three times
(once with Redis flushed), PostgreSQL is stopped for 10 s, or Redis for 30 s; and with no fault at
all but a provider taking 3 s per message. For each: texts lost, texts sent twice (counted at the
Twilio server: every text goes to a number of its own), and for Redis how long sending paused.

"Before" is the code as it was (`--before`, checked out into a temporary worktree and run from
there, on a database its own migrations built); "after" is this checkout. Both run with the same
settings, on the same machine, in the same run. Last, send throughput (bench/outbox.py's run, no
delay) before and after: after must keep at least 90 % of before.

Usage: python bench/faults.py [--messages 300] [--before REV] [--throughput-messages 2000] [--only TEXT]
       python bench/faults.py --throughput-only [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import outbox as outbox_bench  # noqa: E402
from bench.common import ADMIN_SECRET, fresh_database, insert_tenant, start_http  # noqa: E402
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER  # noqa: E402
from tests.support.stoppable import Postgres, RedisServer, free_port  # noqa: E402

# main just before issue 28.
BEFORE = "490de5f"
# Both versions run with these: short enough leases that a killed worker's texts come back within
# the run, and the provider's timeout under the lease.
SETTINGS = {"OUTBOX_LEASE_SECONDS": "10", "PROVIDER_TIMEOUT_SECONDS": "8", "WORKER_SWEEP_SECONDS": "1"}
DEADLINE_SECONDS = 240


@dataclass
class Outcome:
    lost: int
    twice: int
    # Redis: the longest stretch with no text sent while it was down and texts were still waiting,
    # and how many of the texts were sent while it was down (and whether the last of them was).
    longest_pause: float | None = None
    sent_while_down: int | None = None
    finished_while_down: bool = False
    worker_alive: bool = True


class Run:
    """One scenario: a fresh database migrated by the code under test, a local Twilio server with
    `delay` per message, and `frontdesk worker` processes of that code."""

    def __init__(
        self, code: Path, postgres: Postgres, redis: RedisServer, data_dir: Path, delay: float
    ) -> None:
        self.code, self.postgres, self.redis, self.data_dir = code, postgres, redis, data_dir
        self.database_url = fresh_database(postgres.url)
        self.redis.flushall()
        port = free_port()
        self.twilio_process, self.twilio_url = start_http(
            [sys.executable, "-m", "tests.fakes.twilio_server", str(port), "--answer-delay", str(delay)], port
        )
        self.env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis.url,
            "ADMIN_SECRET": ADMIN_SECRET,
            "DATA_DIR": str(data_dir),
            "LOG_LEVEL": "ERROR",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": self.twilio_url,
            "SMS_RATE_LIMIT_COUNT": "1000",
            **SETTINGS,
        }
        subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=code, env=self.env, check=True)
        self.workers: list[subprocess.Popen] = []

    def worker(self) -> subprocess.Popen:
        process = outbox_bench.start([sys.executable, "-m", "backend.cli", "worker"], self.env, self.code)
        self.workers.append(process)
        return process

    def received(self) -> list[dict]:
        return httpx.get(f"{self.twilio_url}/_received", timeout=30).json()

    async def taken(self, count: int) -> None:
        while len(self.received()) < count:  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.2)

    async def queue(self, count: int) -> list[str]:
        connection = await asyncpg.connect(self.database_url)
        try:
            tenant = await insert_tenant(connection)
            await connection.execute(
                """
                INSERT INTO notification_outbox (id, tenant_id, kind, channel, recipient, recipient_timezone,
                    body, segments, urgent, dedupe_key, next_attempt_at, created_at)
                SELECT gen_random_uuid(), $1, 'confirmation', 'sms', '+1212' || (2000000 + i)::text,
                       'America/New_York', 'Bench Clinic: you are booked. Ref ' || i, 1, true, 'faults:' || i,
                       now(), now()
                FROM generate_series(1, $2) AS i
                """,
                tenant,
                count,
            )
        finally:
            await connection.close()
        return [f"+1212{2000000 + i}" for i in range(1, count + 1)]

    async def outcome(self, numbers: list[str], settle: float = 15) -> Outcome:
        """Wait until every text is recorded as sent (or the deadline), a little more, then count."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline and not await self._all_sent(len(numbers)):
            if self.workers[-1].poll() is not None:
                break  # the worker exited: nothing more will be sent
            await asyncio.sleep(0.5)
        await asyncio.sleep(settle)  # late duplicates: a lease that runs out after the last send
        taken = Counter(message["to"] for message in self.received())
        return Outcome(
            lost=sum(1 for number in numbers if taken[number] == 0),
            twice=sum(1 for number in numbers if taken[number] > 1),
            worker_alive=all(process.poll() is None for process in self.workers[-1:]),
        )

    async def _all_sent(self, count: int) -> bool:
        try:
            connection = await asyncpg.connect(self.database_url)
        except (OSError, asyncpg.PostgresError):
            return False
        try:
            sent = await connection.fetchval("SELECT count(*) FROM notification_outbox WHERE status = 'sent'")
        finally:
            await connection.close()
        return sent >= count

    def close(self) -> None:
        outbox_bench.stop([*self.workers, self.twilio_process])


async def killed_three_times(run: Run, count: int) -> Outcome:
    numbers = await run.queue(count)
    worker = run.worker()
    for kill in range(3):
        await run.taken(count * (kill + 1) // 5)
        worker.kill()
        worker.wait()
        if kill == 1:
            run.redis.flushall()
        worker = run.worker()
    return await run.outcome(numbers)


async def no_fault(run: Run, count: int) -> Outcome:
    numbers = await run.queue(count)
    run.worker()
    return await run.outcome(numbers)


async def postgres_stopped(run: Run, count: int) -> Outcome:
    numbers = await run.queue(count)
    run.worker()
    await run.taken(count // 6)
    run.postgres.stop()
    await asyncio.sleep(10)
    run.postgres.start()
    return await run.outcome(numbers)


async def redis_stopped(run: Run, count: int) -> Outcome:
    numbers = await run.queue(count)
    run.worker()
    await run.taken(count // 6)
    began = time.time()
    run.redis.stop()
    await asyncio.sleep(30)
    run.redis.start()
    ended = time.time()
    taken = sorted(m["at"] for m in run.received())
    sent = [at for at in taken if began <= at <= ended]
    # Once the last text has gone there is nothing to send: the time after it is no pause.
    finished = len(taken) >= count
    during = [began, *sent] if finished else [began, *sent, ended]
    result = await run.outcome(numbers)
    pauses = [later - earlier for earlier, later in itertools.pairwise(during)]
    result.longest_pause = max(pauses, default=0.0)
    result.sent_while_down, result.finished_while_down = len(sent), finished
    return result


Scenario = Callable[[Run, int], Awaitable[Outcome]]
SCENARIOS: list[tuple[str, float, Scenario]] = [
    ("worker kill -9 three times while sending (once with FLUSHALL), 1 s/message", 1.0, killed_three_times),
    ("no fault, provider taking 3 s per message", 3.0, no_fault),
    ("PostgreSQL stopped 10 s while sending, 1 s/message", 1.0, postgres_stopped),
    ("Redis stopped 30 s while sending, 1 s/message", 1.0, redis_stopped),
]


def describe(outcome: Outcome) -> str:
    text = f"lost {outcome.lost:4d}   sent twice {outcome.twice:4d}"
    if outcome.longest_pause is not None:
        text += (
            f"   sent while Redis was down {outcome.sent_while_down}"
            f"{' (the last of them too)' if outcome.finished_while_down else ''},"
            f" longest pause meanwhile {outcome.longest_pause:5.1f} s"
        )
    return text + ("" if outcome.worker_alive else "   (the worker exited)")


def throughput(code: Path, postgres: Postgres, redis: RedisServer, data_dir: Path, count: int) -> float:
    """bench/outbox.py's run: `count` texts, one worker, a Twilio server that answers at once."""
    run = Run(code, postgres, redis, data_dir, delay=0.0)
    try:
        elapsed, _ = asyncio.run(outbox_bench.outbox_run(run.database_url, run.env, 1, count, code))
    finally:
        run.close()
    return count / elapsed


def main(
    count: int, before: str, throughput_count: int, only: str | None, rounds: int, throughput_only: bool
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="frontdesk-faults-"))
    old = data_dir / "before"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(old), before], cwd=ROOT, check=True)
    postgres = Postgres(data_dir / "postgres")
    redis = RedisServer(data_dir)
    redis.start()
    try:
        print(f"{count} texts to a local Twilio server; before = {before}, after = this checkout", flush=True)
        for label, delay, scenario in SCENARIOS:
            if throughput_only or (only is not None and only not in label):
                continue
            for name, code in (("before", old), ("after", ROOT)):
                run = Run(code, postgres, redis, data_dir, delay)
                try:
                    outcome = asyncio.run(scenario(run, count))
                finally:
                    run.close()
                print(f"  {label:<74} {name:<6} {describe(outcome)}", flush=True)
        if only is not None:
            return
        for _ in range(rounds):  # the machine is shared: one round may be unlucky
            rates = {
                name: throughput(code, postgres, redis, data_dir, throughput_count)
                for name, code in (("before", old), ("after", ROOT))
            }
            ratio = rates["after"] / rates["before"]
            print(
                f"  send throughput, {throughput_count} texts, 1 worker, no delay (bench/outbox.py): "
                f"before {rates['before']:.1f} msgs/s, after {rates['after']:.1f} msgs/s "
                f"({ratio:.0%} of before; must be at least 90 %)",
                flush=True,
            )
    finally:
        redis.stop()
        subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--throughput-messages", type=int, default=2000)
    parser.add_argument("--only", help="run only the scenarios whose name holds this (no throughput)")
    parser.add_argument("--throughput-only", action="store_true", help="no scenarios, only throughput")
    parser.add_argument("--rounds", type=int, default=2, help="throughput measured this many times")
    arguments = parser.parse_args()
    main(
        arguments.messages,
        arguments.before,
        arguments.throughput_messages,
        arguments.only,
        arguments.rounds,
        arguments.throughput_only,
    )
