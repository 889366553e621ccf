"""The booking flow through the HTTP API, as an integrating engineer sees it."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import at, iso, local_day
from tests.support.db import rows, scalar

JANE = {"name": "Jane Doe", "phone": "(617) 555-0100", "email": "jane@example.com"}


async def free_times(client, tenant, service="Check-up", day=None, **params):
    day = day or local_day(3)
    response = await client.get(
        "/api/v1/availability",
        params={"service_id": tenant.services[service], "from": day.isoformat(), **params},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.text
    return [slot["local_time"] for slot in response.json()["slots"]]


async def test_hold_then_confirm_books_and_frees_nothing_else(client, tenant, db):
    day = local_day(3)
    assert "10:00" in await free_times(client, tenant, day=day)
    hold = await client.post(
        "/api/v1/holds",
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": iso(at(day, "10:00")),
            "session_key": "chat-1",
        },
        headers=tenant.auth,
    )
    assert hold.status_code == 201, hold.text
    assert hold.json()["provider_id"] == tenant.providers["Dr. Adams"]
    # a live hold blocks the time for everyone else
    assert "10:00" not in await free_times(client, tenant, day=day)

    confirmed = await client.post(
        f"/api/v1/holds/{hold.json()['id']}/confirm",
        json={"customer": JANE, "session_key": "chat-1", "notes": "first visit"},
        headers=tenant.auth,
    )
    assert confirmed.status_code == 201, confirmed.text
    appointment = confirmed.json()
    assert appointment["status"] == "booked"
    assert appointment["starts_at"] == iso(at(day, "10:00"))
    assert appointment["customer"]["phone"] == "+16175550100"
    assert len(appointment["reference"]) == 6
    assert appointment["service_name"] == "Check-up" and appointment["provider_name"] == "Dr. Adams"

    # reference lookup, any case
    found = await client.get(f"/api/v1/bookings/{appointment['reference'].lower()}", headers=tenant.auth)
    assert found.status_code == 200 and found.json()["id"] == appointment["id"]

    again = await client.post(
        f"/api/v1/holds/{hold.json()['id']}/confirm",
        json={"customer": JANE, "session_key": "chat-1"},
        headers=tenant.auth,
    )
    assert again.status_code == 409
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 1


async def test_only_the_holder_can_confirm_and_an_expired_hold_cannot(client, make_tenant, db):
    tenant = await make_tenant(settings={"min_lead_minutes": 0, "max_days_ahead": 400, "hold_ttl_minutes": 1})
    day = local_day(3)
    body = {
        "service_id": tenant.services["Check-up"],
        "starts_at": iso(at(day, "09:00")),
        "session_key": "mine",
    }
    hold = (await client.post("/api/v1/holds", json=body, headers=tenant.auth)).json()

    stolen = await client.post(
        f"/api/v1/holds/{hold['id']}/confirm",
        json={"customer": JANE, "session_key": "other"},
        headers=tenant.auth,
    )
    assert stolen.status_code == 403

    # the hold lapses (one minute TTL, moved into the past here)
    await scalar(
        db,
        "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = :i RETURNING 1",
        i=hold["id"],
    )
    late = await client.post(
        f"/api/v1/holds/{hold['id']}/confirm",
        json={"customer": JANE, "session_key": "mine"},
        headers=tenant.auth,
    )
    assert late.status_code == 410
    assert late.json()["error"]["code"] == "HOLD_EXPIRED"
    # an expired hold never blocks anyone: the time is offered and can be held again
    assert "09:00" in await free_times(client, tenant, day=day)
    retaken = await client.post(
        "/api/v1/holds", json={**body, "session_key": "someone-else"}, headers=tenant.auth
    )
    assert retaken.status_code == 201
    statuses = await rows(
        db, "SELECT status FROM holds WHERE tenant_id = :t ORDER BY created_at", t=tenant.id
    )
    assert [r["status"] for r in statuses] == ["expired", "active"]


async def test_released_hold_frees_the_time(client, tenant):
    day = local_day(3)
    body = {"service_id": tenant.services["Check-up"], "starts_at": iso(at(day, "09:30")), "session_key": "k"}
    hold = (await client.post("/api/v1/holds", json=body, headers=tenant.auth)).json()
    assert "09:30" not in await free_times(client, tenant, day=day)
    released = await client.post(
        f"/api/v1/holds/{hold['id']}/release", json={"session_key": "k"}, headers=tenant.auth
    )
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert "09:30" in await free_times(client, tenant, day=day)


async def book(client, tenant, when, service="Check-up", who=JANE, provider=None):
    body = {"service_id": tenant.services[service], "starts_at": iso(when), "customer": who}
    if provider:
        body["provider_id"] = tenant.providers[provider]
    response = await client.post("/api/v1/bookings", json=body, headers=tenant.auth)
    assert response.status_code == 201, response.text
    return response.json()


async def test_buffers_lunch_and_closing_time_shape_availability(client, tenant):
    day = local_day(6)
    await book(client, tenant, at(day, "09:00"), service="Cleaning")  # 09:00-10:00 + 15 min buffer
    times = await free_times(client, tenant, day=day)
    assert times[0] == "10:15"
    assert not any("12:00" <= t < "13:00" for t in times)  # lunch
    assert times[-1] == "16:30"  # a 30-minute visit must end by 17:00
    cleaning = await free_times(client, tenant, service="Cleaning", day=day)
    assert "11:15" not in cleaning  # 11:15 + 60 min would run into lunch
    assert "11:00" in cleaning


async def test_any_provider_is_chosen_when_none_is_named(client, tenant):
    day = local_day(3)
    first = await book(client, tenant, at(day, "13:00"), service="Consultation")
    second = await book(
        client,
        tenant,
        at(day, "13:00"),
        service="Consultation",
        who={"name": "Bob", "email": "bob@example.com"},
    )
    assert {first["provider_name"], second["provider_name"]} == {"Dr. Adams", "Dr. Baker"}


async def test_closures_block_booking_and_availability(client, tenant):
    day = local_day(8)
    closure = await client.post(
        "/api/v1/closures",
        json={
            "provider": "Dr. Adams",
            "starts_at": iso(at(day, "00:00")),
            "ends_at": iso(at(day + timedelta(1), "00:00")),
            "reason": "conference",
        },
        headers=tenant.auth,
    )
    assert closure.status_code == 201, closure.text
    assert await free_times(client, tenant, day=day) == []
    # Dr. Baker still works that day
    assert "10:00" in await free_times(client, tenant, service="Consultation", day=day)
    refused = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": iso(at(day, "10:00")),
            "customer": JANE,
        },
        headers=tenant.auth,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "SLOT_UNAVAILABLE"

    deleted = await client.delete(f"/api/v1/closures/{closure.json()['id']}", headers=tenant.auth)
    assert deleted.status_code == 204
    assert "10:00" in await free_times(client, tenant, day=day)


async def test_booking_outside_hours_or_window_is_refused(client, make_tenant):
    tenant = await make_tenant(settings={"min_lead_minutes": 240, "max_days_ahead": 10})
    service = tenant.services["Check-up"]
    for when, reason in (
        (at(local_day(3), "07:00"), "outside opening hours"),
        (at(local_day(3), "12:15"), "outside opening hours"),  # lunch
        (at(local_day(30), "10:00"), "too far ahead"),
        (at(local_day(-1), "10:00"), "too soon"),
    ):
        response = await client.post(
            "/api/v1/bookings",
            json={"service_id": service, "starts_at": iso(when), "customer": JANE},
            headers=tenant.auth,
        )
        assert response.status_code == 422, (when, response.text)
        assert response.json()["error"]["code"] == "SLOT_UNAVAILABLE"
        assert reason in response.json()["error"]["message"]
    # and the same limits shape availability: nothing is offered past max_days_ahead
    assert await free_times(client, tenant, day=local_day(11)) == []


async def test_reschedule_moves_atomically_and_cancel_frees(client, tenant, db):
    day = local_day(4)
    appointment = await book(client, tenant, at(day, "10:00"))
    blocker = await book(client, tenant, at(day, "11:00"), who={"name": "Bob", "phone": "+16175550111"})

    taken = await client.post(
        f"/api/v1/bookings/{appointment['id']}/reschedule",
        json={"starts_at": iso(at(day, "11:00"))},
        headers=tenant.auth,
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "SLOT_TAKEN"
    unchanged = (await client.get(f"/api/v1/bookings/{appointment['id']}", headers=tenant.auth)).json()
    assert unchanged["starts_at"] == iso(at(day, "10:00"))

    # a 15-minute shift overlaps the appointment's own time: allowed, it is the same booking
    moved = await client.post(
        f"/api/v1/bookings/{appointment['reference']}/reschedule",
        json={"starts_at": iso(at(day, "10:15"))},
        headers=tenant.auth,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["starts_at"] == iso(at(day, "10:15"))
    assert moved.json()["reference"] == appointment["reference"]
    times = await free_times(client, tenant, day=day)
    # 10:15-10:45 is taken now, 11:00-11:30 by the blocker; 09:45-10:15 just fits before
    assert "09:45" in times and "10:00" not in times and "10:30" not in times and "10:45" not in times

    cancelled = await client.post(
        f"/api/v1/bookings/{blocker['id']}/cancel", json={"reason": "feeling better"}, headers=tenant.auth
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert "11:00" in await free_times(client, tenant, day=day)
    twice = await client.post(f"/api/v1/bookings/{blocker['id']}/cancel", json={}, headers=tenant.auth)
    assert twice.status_code == 200 and twice.json()["status"] == "cancelled"
    no_move = await client.post(
        f"/api/v1/bookings/{blocker['id']}/reschedule",
        json={"starts_at": iso(at(day, "15:00"))},
        headers=tenant.auth,
    )
    assert no_move.status_code == 409

    actions = await rows(
        db,
        "SELECT action FROM audit_log WHERE tenant_id = :t AND entity_type = 'appointment' ORDER BY id",
        t=tenant.id,
    )
    assert [a["action"] for a in actions] == [
        "appointment.booked",
        "appointment.booked",
        "appointment.rescheduled",
        "appointment.cancelled",
    ]


async def test_list_bookings_by_range_status_customer_and_pages(client, tenant):
    day = local_day(10)
    made = [await book(client, tenant, at(day, t)) for t in ("09:00", "09:30", "10:00")]
    other = await book(client, tenant, at(day, "10:30"), who={"name": "Bob", "phone": "+16175550111"})
    later = await book(client, tenant, at(day + timedelta(days=1), "09:00"))
    await client.post(f"/api/v1/bookings/{made[1]['id']}/cancel", json={}, headers=tenant.auth)

    def ids(response):
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    one_day = {"from": day.isoformat(), "to": day.isoformat()}
    assert ids(await client.get("/api/v1/bookings", params=one_day, headers=tenant.auth)) == [
        made[0]["id"],
        made[1]["id"],
        made[2]["id"],
        other["id"],
    ]
    booked = await client.get("/api/v1/bookings", params={**one_day, "status": "booked"}, headers=tenant.auth)
    assert ids(booked) == [made[0]["id"], made[2]["id"], other["id"]]
    janes = await client.get("/api/v1/bookings", params={"phone": "617-555-0100"}, headers=tenant.auth)
    assert ids(janes) == [made[0]["id"], made[1]["id"], made[2]["id"], later["id"]]

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/bookings", params=params, headers=tenant.auth)
        pages.append(ids(response))
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [[made[0]["id"], made[1]["id"]], [made[2]["id"], other["id"]], [later["id"]]]


async def test_returning_patient_is_one_customer(client, tenant, db):
    day = local_day(12)
    await book(client, tenant, at(day, "09:00"))
    await book(client, tenant, at(day, "10:00"), who={"name": "Jane D.", "phone": "+1 617 555 0100"})
    assert await scalar(db, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant.id) == 1
