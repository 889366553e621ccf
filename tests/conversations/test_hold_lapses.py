"""A held time that runs out: said with the next reply (REST, SMS), and a late yes checks the time
again instead of quietly holding or booking."""

from __future__ import annotations

from datetime import timedelta

from backend.messaging.actions import sweep_lapsed_holds
from tests.conftest import at, local_day
from tests.support.chat import open_chat
from tests.support.db import rows


async def test_the_next_reply_says_the_hold_lapsed_and_a_late_yes_holds_the_time_again(db, tenant):
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    asked = await chat.hold_with_details(contact="jane@example.com")
    assert "Shall I book it?" in asked
    chat.now += timedelta(minutes=6)

    late = await chat.say("yes")
    assert "has been released" in late and "is still free, so I'm holding it for you again" in late
    assert "Please confirm" in late  # a new hold: a new yes
    assert await rows(db, "SELECT id FROM appointments WHERE tenant_id = :t", t=tenant.id) == []
    assert "You're booked" in await chat.say("yes")


async def test_a_late_yes_to_a_time_taken_meanwhile_says_so_and_offers_the_nearest(db, tenant, client):
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.hold_with_details(contact="jane@example.com")
    [hold] = await rows(db, "SELECT starts_at FROM holds WHERE tenant_id = :t", t=tenant.id)
    chat.now += timedelta(minutes=6)
    await sweep_lapsed_holds(db, chat.now)  # the worker marks it expired; another patient takes the time
    taken = await client.post(
        "/api/v1/bookings",
        headers=tenant.auth,
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": hold["starts_at"].isoformat(),
            "customer": {"name": "Walk In", "email": "walkin@example.com"},
        },
    )
    assert taken.status_code == 201, taken.text
    late = await chat.say("yes")
    assert "was taken after the hold ran out" in late and "Which works for you?" in late
    assert len(await rows(db, "SELECT id FROM appointments WHERE tenant_id = :t", t=tenant.id)) == 1
