"""One-click links in e-mail reminders: sealed (nothing readable in them), bound to the appointment
and its time, each used once; confirm at once, cancel after a yes on the page."""

from __future__ import annotations

import re

from tests.conftest import at, local_day
from tests.support.db import rows
from tests.support.messaging import book_at, new_email, new_phone, outbox_of, runner_for


def link(body: str, label: str) -> str:
    return re.search(rf"{label}: https?://[^/\s]+(/r/\S+)", body).group(1)


async def reminded_by_email(db, tenant, settings, hour: str):
    appointment = await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(3), hour),
        at(local_day(0), "00:01"),
        phone=new_phone(),
        email=new_email(),
    )
    await runner_for(db, settings).run_due(at(local_day(2), "16:00"))
    emails = await outbox_of(db, tenant.id, kind="reminder", channel="email", appointment_id=appointment.id)
    return appointment, emails[-1]["body"]


async def status_of(db, appointment_id) -> dict:
    [row] = await rows(db, "SELECT status, confirmed_via FROM appointments WHERE id = :id", id=appointment_id)
    return row


async def test_the_confirm_link_confirms_once_and_shows_nothing_in_the_clear(db, client, tenant, settings):
    appointment, body = await reminded_by_email(db, tenant, settings, "09:00")
    confirm = link(body, "Confirm")
    assert str(appointment.id) not in confirm and appointment.reference not in confirm
    assert str(tenant.id) not in confirm

    page = await client.get(confirm)
    assert page.status_code == 200 and "confirmed" in page.text and "Test Clinic" in page.text
    assert await status_of(db, appointment.id) == {"status": "confirmed", "confirmed_via": "email"}
    again = await client.get(confirm)
    assert again.status_code == 200 and "confirmed" in again.text
    events = await rows(
        db,
        "SELECT data FROM domain_events WHERE type = 'booking.confirmed' AND entity_id = :id",
        id=str(appointment.id),
    )
    assert [e["data"]["via"] for e in events] == ["email"]

    forged = confirm[:-6] + ("AAAAAA" if not confirm.endswith("AAAAAA") else "BBBBBB")
    assert (await client.get(forged)).status_code == 404


async def test_the_cancel_link_asks_first_and_a_moved_appointment_voids_old_links(
    db, client, tenant, settings
):
    appointment, body = await reminded_by_email(db, tenant, settings, "11:00")
    cancel = link(body, "Cancel")
    asked = await client.get(cancel)
    assert asked.status_code == 200 and "Yes, cancel it" in asked.text
    assert (await status_of(db, appointment.id))[
        "status"
    ] == "booked"  # a GET (a mail scanner) cancels nothing
    done = await client.post(cancel, follow_redirects=True)
    assert done.status_code == 200 and "cancelled" in done.text
    assert (await status_of(db, appointment.id))["status"] == "cancelled"

    other, other_body = await reminded_by_email(db, tenant, settings, "15:00")
    response = await client.post(
        f"/api/v1/bookings/{other.reference}/reschedule",
        headers=tenant.auth,
        json={"starts_at": at(local_day(4), "15:00").isoformat()},
    )
    assert response.status_code == 200, response.text
    stale = await client.get(link(other_body, "Confirm"))
    assert stale.status_code == 410 and "moved" in stale.text
    assert (await status_of(db, other.id))["status"] == "booked"
