"""Real `frontdesk worker` processes (arq, Redis, PostgreSQL) against the local Twilio server:
no message is sent twice by two workers, a killed worker's message is sent by another, and
flushing Redis loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis

from tests.conftest import ADMIN_SECRET, ROOT, SECRETS_KEYS, at, local_day, utcnow
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio, running_fake_twilio
from tests.support.db import scalar
from tests.support.messaging import book_at, new_phone, outbox_of, queue, reset_circuits

WAIT_SECONDS = 90


@asynccontextmanager
async def worker_process(
    settings, twilio: FakeTwilio, log: Path, **env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    environment = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ADMIN_SECRET": ADMIN_SECRET,
        "SECRETS_KEYS": SECRETS_KEYS,
        "DATA_DIR": str(log.parent),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": twilio.base_url,
        "WORKER_SWEEP_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backend.cli",
            "worker",
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=output,
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(WAIT_SECONDS * 10):
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


async def test_two_workers_send_every_message_exactly_once(db, tenant, settings, tmp_path):
    await reset_circuits(db)
    numbers = [new_phone() for _ in range(150)]
    async with running_fake_twilio() as twilio:
        async with (
            worker_process(settings, twilio, tmp_path / "one.log"),
            worker_process(settings, twilio, tmp_path / "two.log"),
        ):
            now = utcnow()
            for number in numbers:
                await queue(db, tenant.id, now, number, kind="confirmation", urgent=True)

            async def all_sent() -> bool:
                pending = await scalar(
                    db,
                    "SELECT count(*) FROM notification_outbox WHERE tenant_id = :t AND status <> 'sent'",
                    t=tenant.id,
                )
                return pending == 0

            await until(all_sent, "every message is sent")
        per_number = {number: len(twilio.to(number)) for number in numbers}
    assert set(per_number.values()) == {1}
    assert {row["attempts"] for row in await outbox_of(db, tenant.id)} == {1}


async def test_a_message_left_by_a_killed_worker_is_sent_by_another_after_the_lease(
    db, tenant, settings, tmp_path
):
    await reset_circuits(db)
    phone = new_phone()
    async with running_fake_twilio() as twilio:
        twilio.delay = 60  # Twilio hangs: the first worker dies mid-send
        async with worker_process(
            settings, twilio, tmp_path / "doomed.log", OUTBOX_LEASE_SECONDS="3"
        ) as doomed:
            await queue(db, tenant.id, utcnow(), phone, kind="confirmation", urgent=True)

            async def sending() -> bool:
                return [r["status"] for r in await outbox_of(db, tenant.id, recipient=phone)] == ["sending"]

            await until(sending, "the first worker has claimed the message")
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
        twilio.delay = 0
        async with worker_process(settings, twilio, tmp_path / "heir.log", OUTBOX_LEASE_SECONDS="3"):

            async def sent() -> bool:
                return [r["status"] for r in await outbox_of(db, tenant.id, recipient=phone)] == ["sent"]

            await until(sent, "the second worker has sent it")
        assert len(twilio.to(phone)) == 1
    [row] = await outbox_of(db, tenant.id, recipient=phone)
    assert row["attempts"] == 2


async def test_flushing_redis_loses_no_message(db, tenant, settings, tmp_path):
    await reset_circuits(db)
    numbers = [new_phone() for _ in range(20)]
    redis = aioredis.from_url(settings.redis_url)
    try:
        async with running_fake_twilio() as twilio, worker_process(settings, twilio, tmp_path / "worker.log"):
            for number in numbers:
                await queue(db, tenant.id, utcnow(), number, kind="confirmation", urgent=True)
                await redis.flushall()  # the nudge just enqueued, and arq's queue, are gone
                await asyncio.sleep(0.05)

            async def all_sent() -> bool:
                return all(len(twilio.to(number)) == 1 for number in numbers)

            await until(all_sent, "every message is sent despite the flushes")
            await asyncio.sleep(1.5)  # one more sweep: nothing is sent twice
            assert all(len(twilio.to(number)) == 1 for number in numbers)
    finally:
        await redis.aclose()


async def test_a_worker_process_sends_a_booking_in_the_tenants_own_wording(
    db, client, tenant, settings, tmp_path
):
    await reset_circuits(db)
    wording = "{{ practice }} has you down for {{ when }}, {{ first_name }}."
    saved = await client.put(
        "/api/v1/message-templates/confirmation/sms", json={"source": wording}, headers=tenant.auth
    )
    assert saved.status_code == 200
    phone = new_phone()
    async with running_fake_twilio() as twilio, worker_process(settings, twilio, tmp_path / "worker.log"):
        await book_at(
            db, tenant.id, tenant.services["Check-up"], at(local_day(5), "10:00"), utcnow(), phone=phone
        )

        async def delivered() -> bool:
            return len(twilio.to(phone)) == 1

        await until(delivered, "the confirmation is reworded and sent")
    [sms] = twilio.to(phone)
    assert sms.body.startswith("Test Clinic has you down for ") and sms.body.endswith(", Maria.")
