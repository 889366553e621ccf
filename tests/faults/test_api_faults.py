"""The API while things break under it, on `frontdesk serve` processes: PostgreSQL stopped under
load (503 with Retry-After, never a 500, no booking lost or doubled, the same connections answer
again after), Redis frozen or stopped (health and bookings still answer within a second), an API
process killed mid-request (its Idempotency-Key is free for the retry on another process at once),
and a worker killed mid-turn (the text is still answered)."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from backend.core.db import Database
from backend.scheduling.guards import lock_key
from tests.conftest import at
from tests.fakes.openai_server import running_fake_openai
from tests.fakes.twilio_server import FakeTwilio
from tests.faults.conftest import FaultServices, Processes, until
from tests.support.db import key_held, rows, scalar
from tests.support.faults import CarefulClient, new_clinic, signed_text, slots, start_api
from tests.support.messaging import new_phone

DEADLINE_SECONDS = 120


async def test_postgres_stopped_under_load_is_a_503_and_loses_or_doubles_no_booking(
    processes: Processes, services: FaultServices, fault_db: Database
):
    api = await start_api(processes)
    clinic = await new_clinic(api)
    lanes = [slots(48)[lane::4] for lane in range(4)]  # four clients, twelve bookings each
    done: list[httpx.Response] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    # One kept-alive connection per client, used before, during and after the outage.
    async with (
        api.client(limits=httpx.Limits(max_connections=1)) as one,
        api.client(limits=httpx.Limits(max_connections=1)) as two,
    ):
        clients = [CarefulClient(one, clinic), CarefulClient(two, clinic)] * 2

        async def lane(number: int) -> None:
            for n, (day, hh_mm) in enumerate(lanes[number]):
                key = f"lane{number}-{n}"
                done.append(await clients[number].book(clinic.booking(day, hh_mm), key, deadline))

        load = asyncio.gather(*(lane(n) for n in range(4)))
        await until(lambda: holds(len(done) >= 8), "bookings are going through")
        services.postgres.stop()
        try:
            await asyncio.sleep(4)
        finally:
            services.postgres.start()
        await load

    answers = [answer for client in clients[:2] for answer in client.answers]
    unavailable = [answer for answer in answers if answer.status_code == 503]
    assert unavailable, "the outage came and went without a request noticing"
    # Never a 500: 201, 503, or (a retry racing its own first try) 409 in progress.
    assert {answer.status_code for answer in answers} <= {201, 409, 503}
    assert all(
        a.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS" for a in answers if a.status_code == 409
    )
    for answer in unavailable:
        error = answer.json()["error"]
        assert error["code"] in ("DATABASE_UNAVAILABLE", "OUTCOME_UNKNOWN") and error["retryable"]
        assert int(answer.headers["retry-after"]) > 0
        assert "nothing was changed" not in error["message"]
        assert answer.headers.get("connection", "").lower() != "close"
    # Every booking answered 201 exists once; no other was made.
    assert sorted(answer.status_code for answer in done) == [201] * 48
    booked = await rows(fault_db, "SELECT id FROM appointments WHERE tenant_id = :t", t=clinic.id)
    assert sorted(str(row["id"]) for row in booked) == sorted(answer.json()["id"] for answer in done)
    log = api.log()
    assert "Traceback" not in log, log[-4000:]


async def test_with_redis_frozen_or_stopped_health_and_bookings_answer_within_a_second(
    processes: Processes, services: FaultServices
):
    api = await start_api(processes, RATE_LIMITS_ENABLED="true")
    clinic = await new_clinic(api)
    free = iter(slots(12))
    async with api.client() as warm:
        day, hh_mm = next(free)
        first = await warm.post("/api/v1/bookings", json=clinic.booking(day, hh_mm), headers=clinic.auth)
        assert first.status_code == 201, first.text
    # The bound under test: a request that does not complete within a second fails the test.
    async with api.client(timeout=1.0) as client:
        for outage in ("frozen", "stopped"):
            if outage == "frozen":
                services.redis.freeze()  # connections hang instead of failing
            else:
                services.redis.stop()
            try:
                for _ in range(3):
                    assert (await client.get("/health")).status_code == 200
                    day, hh_mm = next(free)
                    booked = await client.post(
                        "/api/v1/bookings",
                        json=clinic.booking(day, hh_mm),
                        headers={**clinic.auth, "Idempotency-Key": str(uuid.uuid4())},
                    )
                    assert booked.status_code == 201, booked.text
            finally:
                if outage == "frozen":
                    services.redis.thaw()
                else:
                    services.redis.start()
    log = api.log()
    assert "Traceback" not in log, log[-4000:]
    # One warning as each outage starts, one as it ends: not one per request.
    assert log.count("rate limits (Redis)") <= 4, log[-4000:]


async def test_an_api_process_killed_mid_request_leaves_its_idempotency_key_free_at_once(
    processes: Processes, services: FaultServices, fault_db: Database
):
    first, second = await start_api(processes), await start_api(processes)
    clinic = await new_clinic(first)
    day, hh_mm = slots(1, first_day=5)[0]
    body, key = clinic.booking(day, hh_mm), f"killed-{uuid.uuid4().hex[:8]}"
    headers = {**clinic.auth, "Idempotency-Key": key}
    # Hold the calendar's day from outside, so the first request is still running when it dies.
    url = make_url(services.database_url).set(drivername="postgresql").render_as_string(False)
    blocker = await asyncpg.connect(url)
    try:
        await blocker.execute("BEGIN")
        day_lock = lock_key(uuid.UUID(clinic.providers["Dr. Adams"]), at(day, hh_mm).date())
        await blocker.execute("SELECT pg_advisory_xact_lock($1)", day_lock)
        async with first.client() as client:
            running = asyncio.create_task(client.post("/api/v1/bookings", json=body, headers=headers))
            await until(lambda: key_held(fault_db, clinic.id, key), "the first request holds its key")
            first.process.kill()
            await asyncio.gather(running, return_exceptions=True)
    finally:
        await blocker.execute("ROLLBACK")
        await blocker.close()

    # The retry on the other process: through at once, not after a minute of 409s.
    async with second.client() as client:
        answers = []
        for _ in range(25):
            answer = await client.post("/api/v1/bookings", json=body, headers=headers)
            answers.append(answer.status_code)
            if answer.status_code != 409:
                break
            await asyncio.sleep(0.2)
    assert answers[-1] == 201 and set(answers) <= {409, 201}, answers
    assert await scalar(fault_db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=clinic.id) == 1


async def test_a_worker_killed_mid_turn_leaves_no_text_unanswered(
    processes: Processes, twilio: FakeTwilio, fault_db: Database
):
    async with running_fake_openai() as model:
        # Slow the first time (the worker is killed while it waits), then failing: the rules answer.
        model.script = [lambda body: 20.0, lambda body: 500]
        env = {
            "LLM_API_KEY": "sk-test",
            "LLM_BASE_URL": model.base_url,
            "LLM_TIMEOUT_SECONDS": "10",
            "INBOUND_SMS_LEASE_SECONDS": "5",
            "CHAT_TURN_LEASE_SECONDS": "5",
        }
        api = await start_api(processes, **env)
        clinic = await new_clinic(api)
        patient = new_phone()
        async with api.client() as client:
            added = await client.post(
                "/api/v1/phone-numbers",
                json={"number": new_phone("646"), "label": "Front"},
                headers=clinic.auth,
            )
            practice = added.json()["number"]
            worker = processes.worker(**env)
            form, signature = signed_text(api, patient, practice, "Hi, can I book a check-up?")
            assert (await client.post("/twilio/sms", data=form, headers=signature)).status_code == 200
        await until(lambda: holds(bool(model.requests)), "the worker's turn is waiting for the model")
        worker.kill()
        processes.worker(**env)
        await until(lambda: holds(bool(twilio.to(patient))), "the text is answered")
    [text] = await rows(
        fault_db, "SELECT status, handling FROM inbound_sms WHERE message_sid = :s", s=form["MessageSid"]
    )
    assert (text["status"], text["handling"]) == ("answered", "turn")
    assert len(twilio.to(patient)) == 1


async def holds(condition: bool) -> bool:
    return condition
