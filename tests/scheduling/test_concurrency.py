"""No double booking under contention: exactly one winner, the rest SLOT_TAKEN, no server errors."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from backend.core.db import RUN_ALONE_AFTER_CONFLICTS, Database
from backend.core.errors import SlotTaken
from backend.scheduling import booking, holds
from backend.scheduling.schemas import BookingCreate, HoldCreate, RescheduleIn
from tests.conftest import ALL_WEEK, at, iso, local_day, utcnow
from tests.support.db import booking_transaction, caller_for, overlapping_pairs, scalar

CONTENDERS = 50
# Start times every 5 minutes, so contenders can ask for different times that overlap.
FIVE_MINUTE_GRID = {"min_lead_minutes": 0, "max_days_ahead": 400, "slot_step_minutes": 5}


def customer(i: int) -> dict:
    return {"name": f"Patient {i}", "phone": f"+1617555{i:04d}"}


async def _outcomes(attempts) -> Counter:
    results = await asyncio.gather(*attempts, return_exceptions=True)
    outcome = Counter()
    for result in results:
        if isinstance(result, SlotTaken):
            outcome["taken"] += 1
        elif isinstance(result, BaseException):
            outcome[f"error:{type(result).__name__}:{result}"] += 1
        else:
            outcome["won"] += 1
    return outcome


@pytest.mark.parametrize("gated", [True, False], ids=["with-tenant-gate", "database-layers-only"])
async def test_fifty_concurrent_bookings_through_the_service(db, tenant, gated):
    caller = await caller_for(db, tenant.id)
    start = at(local_day(3), "10:00")

    def attempt(i: int):
        data = BookingCreate(service_id=tenant.services["Check-up"], starts_at=start, customer=customer(i))
        return booking_transaction(db, caller, lambda s: booking.book(s, caller, data, utcnow()), gated=gated)

    assert await _outcomes(attempt(i) for i in range(CONTENDERS)) == Counter(won=1, taken=CONTENDERS - 1)
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1
    assert await overlapping_pairs(db) == 0


async def test_fifty_concurrent_holds_through_the_service(db, tenant):
    caller = await caller_for(db, tenant.id)
    start = at(local_day(3), "11:00")

    def attempt(i: int):
        data = HoldCreate(service_id=tenant.services["Check-up"], starts_at=start, session_key=f"s{i}")
        return booking_transaction(db, caller, lambda s: holds.create_hold(s, caller, data, utcnow()))

    assert await _outcomes(attempt(i) for i in range(CONTENDERS)) == Counter(won=1, taken=CONTENDERS - 1)
    assert await scalar(db, "SELECT count(*) FROM holds WHERE tenant_id = :t", t=tenant.id) == 1
    assert await overlapping_pairs(db) == 0


async def test_overlapping_but_unequal_ranges_have_one_winner(db, make_tenant):
    """Starts 10:00, 10:05 ... 10:25 for a 30-minute visit: every pair overlaps, so one may win."""
    tenant = await make_tenant(settings=FIVE_MINUTE_GRID)
    caller = await caller_for(db, tenant.id)
    day = local_day(4)

    def attempt(i: int):
        start = at(day, "10:00") + timedelta(minutes=5 * (i % 6))
        data = BookingCreate(service_id=tenant.services["Check-up"], starts_at=start, customer=customer(i))
        return booking_transaction(db, caller, lambda s: booking.book(s, caller, data, utcnow()))

    assert await _outcomes(attempt(i) for i in range(CONTENDERS)) == Counter(won=1, taken=CONTENDERS - 1)
    assert await overlapping_pairs(db) == 0


async def test_concurrent_reschedules_into_one_slot(db, tenant):
    caller = await caller_for(db, tenant.id)
    day = local_day(5)
    originals = []
    for i in range(12):  # 12 patients on four days, then all ask for the same new time
        start = at(day + timedelta(days=1 + i // 4), "09:00") + timedelta(minutes=45 * (i % 4))
        data = BookingCreate(service_id=tenant.services["Check-up"], starts_at=start, customer=customer(i))
        appointment = await booking_transaction(
            db, caller, lambda s, data=data: booking.book(s, caller, data, utcnow())
        )
        originals.append((str(appointment.id), appointment.starts_at))
    target = at(day, "14:00")

    def attempt(appointment_id: str):
        data = RescheduleIn(starts_at=target)
        return booking_transaction(
            db, caller, lambda s: booking.reschedule(s, caller, appointment_id, data, utcnow())
        )

    outcome = await _outcomes(attempt(appointment_id) for appointment_id, _ in originals)
    assert outcome == Counter(won=1, taken=len(originals) - 1)
    moved = await scalar(
        db, "SELECT count(*) FROM appointments WHERE tenant_id = :t AND starts_at = :s", t=tenant.id, s=target
    )
    assert moved == 1
    # the losers kept their old times: a failed reschedule frees nothing
    for appointment_id, starts_at in originals:
        current = await scalar(
            db, "SELECT starts_at FROM appointments WHERE id = :i", i=uuid.UUID(appointment_id)
        )
        assert current in (starts_at, target)
    assert await overlapping_pairs(db) == 0


async def test_fifty_concurrent_bookings_over_http(live_server, make_tenant, db):
    """Through a real server process and real TCP connections."""
    tenant = await make_tenant(settings=FIVE_MINUTE_GRID)
    start = iso(at(local_day(3), "15:00"))
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=tenant.auth, timeout=60) as http:

        async def attempt(i: int) -> httpx.Response:
            body = {"service_id": tenant.services["Check-up"], "starts_at": start, "customer": customer(i)}
            return await http.post("/api/v1/bookings", json=body)

        responses = await asyncio.gather(*(attempt(i) for i in range(CONTENDERS)))
        statuses = Counter(r.status_code for r in responses)
        assert statuses == Counter({201: 1, 409: CONTENDERS - 1}), statuses
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"SLOT_TAKEN"}

        # holds and overlapping ranges over HTTP too
        hold_start = at(local_day(3), "16:00")

        async def hold(i: int) -> httpx.Response:
            starts_at = hold_start + timedelta(minutes=5 * (i % 6))
            body = {
                "service_id": tenant.services["Check-up"],
                "starts_at": iso(starts_at),
                "session_key": f"s{i}",
            }
            return await http.post("/api/v1/holds", json=body)

        responses = await asyncio.gather(*(hold(i) for i in range(CONTENDERS)))
        assert Counter(r.status_code for r in responses) == Counter({201: 1, 409: CONTENDERS - 1})

        # reschedules: ten patients on other days all ask for the same new time
        later = local_day(9)
        appointments = []
        for i in range(10):
            body = {
                "service_id": tenant.services["Check-up"],
                "starts_at": iso(
                    at(later + timedelta(days=i // 5), "09:00") + timedelta(minutes=30 * (i % 5))
                ),
                "customer": customer(100 + i),
            }
            appointments.append((await http.post("/api/v1/bookings", json=body)).json())
        target = iso(at(local_day(3), "13:00"))
        moves = await asyncio.gather(
            *(
                http.post(f"/api/v1/bookings/{a['id']}/reschedule", json={"starts_at": target})
                for a in appointments
            )
        )
        assert Counter(r.status_code for r in moves) == Counter({200: 1, 409: 9})
        for appointment, move in zip(appointments, moves, strict=True):
            current = (await http.get(f"/api/v1/bookings/{appointment['id']}")).json()["starts_at"]
            assert current == (target if move.status_code == 200 else appointment["starts_at"])
    assert await overlapping_pairs(db) == 0


async def test_tenants_booking_in_parallel_never_see_a_conflict(settings, db, make_tenant):
    """Distinct slots in several tenants at once: every booking succeeds on the first request.

    On a small database all tenants share index pages, so SERIALIZABLE aborts them against each
    other. Even with a budget of three attempts, the last one runs alone and cannot lose.
    """
    lanes = [await make_tenant() for _ in range(12)]
    callers = [await caller_for(db, lane.id) for lane in lanes]
    assert RUN_ALONE_AFTER_CONFLICTS < 3
    tight = Database(settings.model_copy(update={"booking_max_attempts": 3}))

    async def lane(index: int) -> Counter:
        tenant, caller = lanes[index], callers[index]
        outcome = Counter()
        for n in range(15):
            start = at(local_day(3 + n // 5), "09:00") + timedelta(minutes=30 * (n % 5))
            data = BookingCreate(
                service_id=tenant.services["Check-up"], starts_at=start, customer=customer(n)
            )
            try:
                await booking_transaction(
                    db, caller, lambda s, data=data: booking.book(s, caller, data, utcnow())
                )
                outcome["booked"] += 1
            except Exception as error:
                outcome[type(error).__name__] += 1
        return outcome

    try:
        results = await asyncio.gather(*(lane(i) for i in range(len(lanes))))
    finally:
        await tight.dispose()
    assert sum(results, Counter()) == Counter(booked=15 * len(lanes))


async def test_a_booking_for_one_calendar_does_not_wait_for_another_calendars_open_booking(db, tenant):
    """One-step bookings that name their provider need no order within the tenant: while one is
    still open (not committed), a booking of another provider at the same time goes through."""
    caller = await caller_for(db, tenant.id)
    start = at(local_day(3), "10:00")

    def data(provider: str, i: int) -> BookingCreate:
        return BookingCreate(
            service_id=tenant.services["Consultation"],
            provider_id=tenant.providers[provider],
            starts_at=start,
            customer=customer(i),
        )

    booked, release = asyncio.Event(), asyncio.Event()

    async def book_and_stay_open(session):
        appointment = await booking.book(session, caller, data("Dr. Adams", 1), utcnow())
        booked.set()
        await release.wait()
        return appointment

    first_data = data("Dr. Adams", 1)
    first = asyncio.create_task(
        booking_transaction(
            db, caller, book_and_stay_open, gate=booking.gate_for_booking(caller.tenant, first_data)
        )
    )
    try:
        await booked.wait()
        second_data = data("Dr. Baker", 2)
        second = asyncio.create_task(
            booking_transaction(
                db,
                caller,
                lambda s: booking.book(s, caller, second_data, utcnow()),
                gate=booking.gate_for_booking(caller.tenant, second_data),
            )
        )
        done, _ = await asyncio.wait({second}, timeout=30)
        assert second in done, "the booking of Dr. Baker waited for Dr. Adams's open transaction"
        assert str(second.result().provider_id) == tenant.providers["Dr. Baker"]
    finally:
        release.set()
    assert str((await first).provider_id) == tenant.providers["Dr. Adams"]
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 2


async def test_one_tenants_calendars_booking_in_parallel_never_see_a_conflict(settings, db, make_tenant):
    """Many calendars of one tenant booked at once, each booking naming its provider: with no tenant
    gate and no read of other bookings' rows, every booking goes through on its first request."""
    hours = [{"weekday": d, "opens_at": "09:00", "closes_at": "17:00"} for d in ALL_WEEK]
    tenant = await make_tenant(
        providers=[{"name": f"Provider {i}", "hours": hours} for i in range(8)],
        services=[{"name": "Visit", "duration_minutes": 30}],
        # 80 bookings' reminders would be due in later tests that run the (global) action runner
        # at a future moment and cap it at 200 actions a run.
        settings={"min_lead_minutes": 0, "max_days_ahead": 400, "reminder_offsets_hours": []},
    )
    caller = await caller_for(db, tenant.id)
    tight = Database(settings.model_copy(update={"booking_max_attempts": 3}))

    async def lane(provider: str) -> Counter:
        outcome = Counter()
        for n in range(10):
            data = BookingCreate(
                service_id=tenant.services["Visit"],
                provider_id=tenant.providers[provider],
                starts_at=at(local_day(3 + n // 5), "09:00") + timedelta(minutes=30 * (n % 5)),
                customer=customer(n),
            )
            gate = booking.gate_for_booking(caller.tenant, data)
            try:
                await booking_transaction(
                    tight, caller, lambda s, data=data: booking.book(s, caller, data, utcnow()), gate=gate
                )
                outcome["booked"] += 1
            except Exception as error:
                outcome[type(error).__name__] += 1
        return outcome

    try:
        results = await asyncio.gather(*(lane(name) for name in tenant.providers))
    finally:
        await tight.dispose()
    assert sum(results, Counter()) == Counter(booked=10 * len(tenant.providers))
    assert await overlapping_pairs(db) == 0
