"""A booking racing an inbound sync of busy time on the same slot: whichever commits first, no
appointment is ever left inside known busy time without staff being told."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from tests.calendars.conftest import connect_caldav, vevent
from tests.conftest import at, iso, local_day


async def test_a_booking_and_a_sync_of_the_same_time_never_leave_an_unflagged_overlap(
    client, tenant, radicale, calendar_sync, db
):
    account = radicale.new_account()
    calendar = account.make_calendar("Work")
    connection = await connect_caldav(client, tenant, account)
    await calendar_sync.sync_connection(connection["id"], datetime.now(UTC))
    for round_ in range(8):
        day = local_day(10 + round_)
        start, end = at(day, "10:00"), at(day, "11:00")
        calendar.save_event(
            vevent(
                f"race-{round_}",
                "BEGIN:VEVENT\nUID:{UID}\nDTSTAMP:20260101T000000Z\n"
                f"DTSTART:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}\nDTEND:{end.astimezone(UTC):%Y%m%dT%H%M%SZ}\n"
                "SUMMARY:Surprise meeting\nEND:VEVENT",
            )
        )
        booking, _ = await asyncio.gather(
            client.post(
                "/api/v1/bookings",
                json={
                    "service_id": tenant.services["Check-up"],
                    "provider_id": tenant.providers["Dr. Adams"],
                    "starts_at": iso(at(day, "10:30")),
                    "customer": {"name": f"Pat {round_}", "phone": f"+1212555{round_:04d}"},
                },
                headers=tenant.auth,
            ),
            calendar_sync.sync_connection(connection["id"], datetime.now(UTC)),
        )
        assert booking.status_code in (201, 409), booking.text
        if booking.status_code == 409:
            assert booking.json()["error"]["code"] == "SLOT_TAKEN"
            continue
        async with db.engine.connect() as conn:
            flagged = (
                await conn.execute(
                    text("SELECT count(*) FROM calendar_conflicts WHERE appointment_id = :a"),
                    {"a": booking.json()["id"]},
                )
            ).scalar_one()
        assert flagged == 1, "the booking landed first, so the busy time over it must be flagged"

    async with db.engine.connect() as conn:
        unflagged = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM appointments a JOIN busy_blocks b ON b.provider_id = a.provider_id"
                    " AND tstzrange(a.starts_at, a.blocked_until) && tstzrange(b.starts_at, b.ends_at)"
                    " WHERE a.tenant_id = :t AND a.status IN ('booked', 'confirmed') AND NOT EXISTS"
                    " (SELECT 1 FROM calendar_conflicts c WHERE c.appointment_id = a.id)"
                ),
                {"t": tenant.id},
            )
        ).scalar_one()
    assert unflagged == 0
