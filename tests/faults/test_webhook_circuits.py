"""A clinic's webhook receiver down for 15 s during a burst of events, with a real `frontdesk
worker` delivering them: the requests that fail together count as one failure, the endpoint is
probed while it fails, and everything is delivered within a minute of the receiver recovering."""

from __future__ import annotations

import asyncio
import time

from backend.core.db import Database
from tests.fakes.webhook_receiver import running_receiver
from tests.faults.conftest import Processes, until
from tests.support.db import rows, scalar
from tests.support.faults import new_clinic, slots, start_api

BURST = 20


async def delivered(db: Database, endpoint_id: str) -> int:
    return await scalar(
        db,
        "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = :e AND status = 'delivered'",
        e=endpoint_id,
    )


async def test_a_receiver_down_during_a_burst_gets_everything_within_a_minute_of_recovering(
    processes: Processes, fault_db: Database
):
    api = await start_api(processes)
    clinic = await new_clinic(api)
    processes.worker()
    free = iter(slots(BURST + 1))
    async with running_receiver() as receiver, api.client() as client:
        created = await client.post(
            "/api/v1/webhook-endpoints",
            json={"url": receiver.url, "event_types": ["booking.created"]},
            headers=clinic.auth,
        )
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["id"]

        async def book() -> None:
            day, hh_mm = next(free)
            answer = await client.post(
                "/api/v1/bookings", json=clinic.booking(day, hh_mm), headers=clinic.auth
            )
            assert answer.status_code == 201, answer.text

        await book()
        await until(lambda: _at_least(delivered(fault_db, endpoint_id), 1), "the worker delivers")

        receiver.down = True
        await asyncio.gather(*(book() for _ in range(BURST)))
        await asyncio.sleep(15)
        receiver.down = False
        recovered = time.monotonic()
        await until(
            lambda: _at_least(delivered(fault_db, endpoint_id), BURST + 1),
            "every event is delivered within a minute of the receiver recovering",
            seconds=60,
        )
        resumed_after = time.monotonic() - recovered
    assert len(set(receiver.ids())) == BURST + 1
    [endpoint] = await rows(
        fault_db, "SELECT failures, paused_until FROM webhook_endpoints WHERE id = :e", e=endpoint_id
    )
    assert (endpoint["failures"], endpoint["paused_until"]) == (0, None), resumed_after


async def _at_least(count, wanted: int) -> bool:
    return await count >= wanted
