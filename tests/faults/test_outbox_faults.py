"""Texts through `frontdesk worker` processes to a slow local Twilio while things break: the worker
killed mid-send (once with Redis flushed), a provider slower than the lease, PostgreSQL stopped,
Redis stopped or frozen. Every time, each message is taken by Twilio exactly once (counted at the
fake Twilio by the outbox id in its status callback): none lost, none sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable

import redis.asyncio as aioredis

from backend.core.db import Database
from tests.conftest import utcnow
from tests.fakes.twilio_server import FakeTwilio
from tests.faults.conftest import FaultServices, Process, Processes, until
from tests.support.db import rows
from tests.support.messaging import new_phone, queue

# Short leases and sweeps, so a dead worker's texts are reconciled within seconds; a few send slots,
# so a handful of texts keep the worker busy for a while.
QUICK = {
    "OUTBOX_LEASE_SECONDS": "3",
    "PROVIDER_TIMEOUT_SECONDS": "2.5",
    "OUTBOX_SEND_CONCURRENCY": "5",
}
ARQ_ALIVE = "arq:queue:health-check"  # written by arq's worker when it (re)connects


async def queue_texts(db: Database, tenant: uuid.UUID, count: int) -> list[str]:
    now = utcnow()
    ids = [
        await queue(db, str(tenant), now, new_phone(), kind="confirmation", urgent=True) for _ in range(count)
    ]
    return [str(row_id) for row_id in ids]


async def all_sent(db: Database, ids: list[str]) -> bool:
    sent = await rows(
        db, "SELECT count(*) AS n FROM notification_outbox WHERE id = ANY(:ids) AND status = 'sent'", ids=ids
    )
    return sent[0]["n"] == len(ids)


async def assert_each_sent_once(
    db: Database, twilio: FakeTwilio, ids: list[str], workers: list[Process]
) -> None:
    """Each text recorded as sent with the id Twilio gave it, and Twilio took each exactly once
    (every text goes to a number of its own, and names its outbox row in its status callback)."""
    with contextlib.suppress(AssertionError):
        await until(lambda: all_sent(db, ids), "every text is recorded as sent")
    await asyncio.sleep(1.5)  # a sweep more: nothing goes twice late
    recorded = await rows(
        db,
        "SELECT id, recipient, status, provider_message_id FROM notification_outbox WHERE id = ANY(:ids)",
        ids=ids,
    )
    taken = Counter(message.to for message in twilio.messages)
    lost = [row["recipient"] for row in recorded if taken[row["recipient"]] == 0]
    twice = {row["recipient"]: taken[row["recipient"]] for row in recorded if taken[row["recipient"]] > 1}
    unsettled = [row["recipient"] for row in recorded if row["status"] != "sent"]
    logs = "\n\n".join(worker.output() for worker in workers)
    assert (lost, twice, unsettled) == ([], {}, []), logs
    sids = {message.outbox_id: message.sid for message in twilio.messages}
    assert {str(row["id"]): row["provider_message_id"] for row in recorded} == {
        row_id: sids[row_id] for row_id in ids
    }


async def taken(twilio: FakeTwilio, count: int) -> bool:
    return len(twilio.messages) >= count


async def test_a_worker_killed_mid_send_three_times_sends_every_text_once(
    fault_db, fault_tenant, twilio, processes: Processes, services: FaultServices
):
    twilio.delay = twilio.answer_delay = 0.3  # some texts die before Twilio has them, some after
    ids = await queue_texts(fault_db, fault_tenant, 40)
    worker = processes.worker(**QUICK)
    for kill in range(3):
        await until(lambda kill=kill: taken(twilio, 8 * (kill + 1)), "the worker is sending")
        worker.kill()
        if kill == 1:
            services.redis.flushall()  # arq's queue and every nudge in flight, gone
        worker = processes.worker(**QUICK)
    await assert_each_sent_once(fault_db, twilio, ids, processes.started)


async def test_a_provider_slower_than_the_lease_sends_every_text_once(
    fault_db, fault_tenant, twilio, processes
):
    # Each send takes longer than a lease: the worker must hold its rows while Twilio works, and
    # claim no more than its five slots can send.
    twilio.delay = 1.2
    ids = await queue_texts(fault_db, fault_tenant, 25)
    worker = processes.worker(**{**QUICK, "OUTBOX_LEASE_SECONDS": "1"})
    await assert_each_sent_once(fault_db, twilio, ids, [worker])


async def test_postgres_stopped_mid_send_loses_no_text_and_sends_none_twice(
    fault_db, fault_tenant, twilio, processes, services: FaultServices
):
    twilio.delay = twilio.answer_delay = 0.3
    ids = await queue_texts(fault_db, fault_tenant, 30)
    worker = processes.worker(**QUICK)
    await until(lambda: taken(twilio, 5), "the worker is sending")
    services.postgres.stop()
    try:
        await asyncio.sleep(5)  # answers come back meanwhile; the leases run out
        assert worker.alive
    finally:
        services.postgres.start()
    await assert_each_sent_once(fault_db, twilio, ids, [worker])
    assert worker.alive


async def _arq_connected(services: FaultServices) -> bool:
    client = aioredis.from_url(services.redis.url, socket_timeout=1)
    try:
        return bool(await client.exists(ARQ_ALIVE))
    finally:
        await client.aclose()


async def texts_go_while_redis_is(
    broken: Callable[[], None], fixed: Callable[[], None], db, tenant, twilio, processes, services
) -> Process:
    """A worker connected to Redis, then Redis `broken`: texts queued meanwhile are each sent once
    (sending needs only PostgreSQL), and the worker is still running; then Redis is `fixed`."""
    twilio.delay = 0.1
    worker = processes.worker(**QUICK)
    await until(lambda: _arq_connected(services), "the worker is up")
    broken()
    try:
        ids = await queue_texts(db, tenant, 15)
        await assert_each_sent_once(db, twilio, ids, [worker])
        assert worker.alive
    finally:
        fixed()
    return worker


async def test_with_redis_stopped_texts_keep_going_and_arq_reconnects(
    fault_db, fault_tenant, twilio, processes, services: FaultServices
):
    redis = services.redis
    worker = await texts_go_while_redis_is(
        redis.stop, redis.start, fault_db, fault_tenant, twilio, processes, services
    )
    await until(lambda: _arq_connected(services), "arq's part is back on Redis")
    assert worker.alive


async def test_with_redis_frozen_texts_keep_going(
    fault_db, fault_tenant, twilio, processes, services: FaultServices
):
    redis = services.redis
    await texts_go_while_redis_is(
        redis.freeze, redis.thaw, fault_db, fault_tenant, twilio, processes, services
    )
