"""The Event API as an integrator reads it: by cursor, filtered, long-polled, and never skipping an
event, even when the transactions that wrote them commit out of order."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import text

from backend.core import events
from backend.core.context import Caller
from backend.core.event_catalogue import CATALOGUE, ConversationStarted
from backend.core.events import Cursor
from tests.conftest import utcnow
from tests.events.conftest import JANE, book
from tests.support.db import caller_for, scalar


async def read_all(client, tenant, **params):
    """Follow next_cursor until has_more is false: what a consumer catching up does."""
    seen, after = [], None
    while True:
        query = {**params, **({"after": after} if after else {})}
        response = await client.get("/api/v1/events", params=query, headers=tenant.auth)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += page["data"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return seen, after


async def test_a_booking_is_in_the_stream_with_its_correlation_id_and_its_messages(client, tenant):
    booking = await book(client, tenant, "10:00", **{"X-Correlation-Id": "pms-request-42"})
    stream, _ = await read_all(client, tenant)

    created = [e for e in stream if e["type"] == "booking.created"]
    assert len(created) == 1
    event = created[0]
    assert event["id"].startswith("evt_") and event["version"] == 1 and event["tenant_id"] == tenant.id
    assert event["correlation_id"] == "pms-request-42"
    assert event["data"]["appointment_id"] == booking["id"]
    assert event["data"]["reference"] == booking["reference"]
    assert datetime.fromisoformat(event["data"]["starts_at"]) == datetime.fromisoformat(booking["starts_at"])
    # The confirmation texts and e-mails queued by the same request carry the same correlation id.
    queued = [e for e in stream if e["type"] == "message.queued"]
    assert {e["data"]["channel"] for e in queued} == {"sms", "email"}
    assert {e["correlation_id"] for e in queued} == {"pms-request-42"}
    # Ids and times only: nothing of the patient.
    text = str(stream)
    # The phone in each spelling it could leak as; a bare "555" also turns up inside random UUIDs.
    leaks = ("Jane", "jane@", "6175550100", "555-0100", "555 0100")
    assert not [leak for leak in leaks if leak in text]


async def test_cursor_pages_are_in_order_without_gaps_or_repeats(client, tenant):
    for hh_mm in ("09:00", "09:30", "10:00"):
        await book(client, tenant, hh_mm)
    everything, _ = await read_all(client, tenant)
    one_by_one, _ = await read_all(client, tenant, limit=1)
    assert [e["id"] for e in one_by_one] == [e["id"] for e in everything]
    assert len({e["id"] for e in everything}) == len(everything)

    # A consumer that resumes from any event's cursor gets exactly what came after it.
    middle = everything[len(everything) // 2]
    rest, _ = await read_all(client, tenant, after=middle["cursor"])
    assert [e["id"] for e in rest] == [e["id"] for e in everything[len(everything) // 2 + 1 :]]


async def test_types_filter_by_name_or_group_and_reject_unknown_ones(client, tenant):
    booking = await book(client, tenant, "11:00")
    cancel = await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=tenant.auth)
    assert cancel.status_code == 200, cancel.text

    bookings, _ = await read_all(client, tenant, types="booking.*")
    assert [e["type"] for e in bookings] == ["booking.created", "booking.cancelled"]
    cancelled, _ = await read_all(client, tenant, types=["booking.cancelled", "hold.expired"])
    assert [e["type"] for e in cancelled] == ["booking.cancelled"]

    wrong = await client.get("/api/v1/events", params={"types": "booking.made"}, headers=tenant.auth)
    assert wrong.status_code == 422
    assert (
        "booking.made" in wrong.json()["error"]["message"] and "booking.*" in wrong.json()["error"]["message"]
    )


async def test_bad_cursors_and_limits_get_clear_errors(client, tenant):
    for params in (
        {"after": "not-a-cursor"},
        {"after": "Mi4yLjM"},
        {"after": "!!"},
        {"limit": 0},
        {"wait": 31},
    ):
        response = await client.get("/api/v1/events", params=params, headers=tenant.auth)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert (await client.get("/api/v1/events")).status_code == 401


async def test_another_tenants_events_are_never_seen(client, tenant, make_tenant):
    await book(client, tenant, "11:30")
    other = await make_tenant()
    theirs, _ = await read_all(client, other)
    assert all(e["tenant_id"] == other.id for e in theirs)
    mine, _ = await read_all(client, tenant)
    response = await client.get(f"/api/v1/events/{mine[0]['id']}", headers=other.auth)
    assert response.status_code == 404
    own = await client.get(f"/api/v1/events/{mine[0]['id']}", headers=tenant.auth)
    assert own.status_code == 200 and own.json()["id"] == mine[0]["id"]


async def test_a_long_poll_answers_as_soon_as_an_event_arrives(client, tenant):
    _, head = await read_all(client, tenant)

    async def poll():
        return await client.get(
            "/api/v1/events", params={"after": head, "wait": 20}, headers=tenant.auth, timeout=30
        )

    waiting = asyncio.create_task(poll())
    await asyncio.sleep(1)
    assert not waiting.done()  # nothing new yet: the request is held open
    await book(client, tenant, "13:00")
    response = await asyncio.wait_for(waiting, timeout=15)
    assert response.status_code == 200
    assert "booking.created" in [e["type"] for e in response.json()["data"]]

    empty = await client.get(
        "/api/v1/events", params={"after": response.json()["next_cursor"], "wait": 1}, headers=tenant.auth
    )
    assert empty.status_code == 200 and empty.json()["data"] == []


async def test_a_cursor_past_the_retention_is_refused_rather_than_skipping(client, tenant, db):
    first, _ = await read_all(client, tenant)  # the tenant's own creation left nothing; book two
    await book(client, tenant, "14:00")
    await book(client, tenant, "14:30")
    stream, _ = await read_all(client, tenant)
    old_cursor = stream[0]["cursor"]
    # The first booking's events are now 40 days old; retention (30 days) forgets them.
    first_booking = [e["id"] for e in stream[: len(stream) // 2]]

    async def age_and_purge(session):
        await session.execute(
            text("UPDATE domain_events SET occurred_at = now() - interval '40 days' WHERE id = ANY(:ids)"),
            {"ids": [int(i.removeprefix("evt_")) for i in first_booking]},
        )
        return await events.purge(session, utcnow() - timedelta(days=30))

    assert await db.transaction(age_and_purge) >= len(first_booking)
    expired = await client.get("/api/v1/events", params={"after": old_cursor}, headers=tenant.auth)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "CURSOR_EXPIRED"
    # Starting over gives what is kept, from the oldest.
    kept, _ = await read_all(client, tenant)
    assert [e["id"] for e in kept] == [e["id"] for e in stream[len(first_booking) :]]
    assert first == []


async def test_a_consumer_never_skips_events_of_transactions_that_commit_out_of_order(db, tenant):
    """Writers hold their transactions open for random times after writing, so ids commit out of
    order; a reader following its cursor meanwhile must still see every event exactly once."""
    caller: Caller = await caller_for(db, tenant.id)
    written: list[str] = []
    done = asyncio.Event()

    async def writer(n: int) -> None:
        for _ in range(15):
            conversation = uuid.uuid4()

            async def work(session, conversation=conversation):
                events.emit(session, caller, ConversationStarted(conversation_id=conversation, channel="web"))
                await session.flush()
                await asyncio.sleep(random.uniform(0, 0.05))

            await db.transaction(work)
            written.append(str(conversation))

    async def reader() -> list[str]:
        seen: list[str] = []
        cursor: Cursor | None = None
        while True:
            finished = done.is_set()

            async def work(session, cursor=cursor):
                return await events.read(session, caller.tenant.id, cursor, types=["conversation.started"])

            page = await db.transaction(work)
            seen += [e.data["conversation_id"] for e in page.events]
            cursor = page.next
            if finished and not page.events:
                return seen
            await asyncio.sleep(0.005)

    reading = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(6)))
    done.set()
    seen = await reading
    assert len(seen) == len(set(seen)), "an event was read twice"
    assert sorted(seen) == sorted(written), "an event was skipped"


async def test_every_event_written_matches_its_catalogue_schema(client, tenant, db):
    """Whatever this and earlier tests made happen (bookings, messages, conversations, consent):
    each stored event's data validates against the schema documented for its type and version."""
    booking = await book(client, tenant, "16:00")
    await client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={}, headers=tenant.auth)

    async def everything(session):
        return (await session.execute(text("SELECT type, version, data FROM domain_events"))).all()

    stored = await db.transaction(everything)
    assert stored
    for event_type, version, data in stored:
        assert event_type in CATALOGUE, event_type
        assert version == CATALOGUE[event_type].version
        CATALOGUE[event_type].model_validate(data)


async def test_no_event_without_the_change(client, tenant, db):
    """A booking that loses its slot rolls back: neither the appointment nor its event exists."""
    await book(client, tenant, "15:00")
    before = await scalar(db, "SELECT count(*) FROM domain_events WHERE tenant_id = :t", t=tenant.id)
    taken = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": (await read_all(client, tenant, types="booking.created"))[0][-1]["data"][
                "starts_at"
            ],
            "customer": {**JANE, "phone": "(617) 555-0199"},
        },
        headers=tenant.auth,
    )
    assert taken.status_code == 409
    after = await scalar(db, "SELECT count(*) FROM domain_events WHERE tenant_id = :t", t=tenant.id)
    assert after == before
