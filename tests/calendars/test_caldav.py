"""CalDAV against a real Radicale: a provider's busy time blocks availability and bookings, our
bookings appear in their calendar, and a wrong password shows as a broken connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from pydantic import SecretStr
from sqlalchemy import text

from backend.calendars import connections
from backend.calendars.sync import CalendarSync
from backend.core.crypto import KeyRing
from tests.calendars.conftest import book_check_up, connect_caldav, free_times, vevent
from tests.conftest import NY, at, iso, local_day


def _stamp(moment: datetime) -> str:
    return moment.astimezone(NY).strftime("%Y%m%dT%H%M%S")


def span(day, start: str, end: str) -> str:
    return f"DTSTART;TZID={{TZ}}:{_stamp(at(day, start))}\nDTEND;TZID={{TZ}}:{_stamp(at(day, end))}\n"


async def test_a_busy_event_takes_its_time_away_and_deleting_it_gives_the_time_back(
    client, tenant, radicale, calendar_sync: CalendarSync
):
    account = radicale.new_account()
    calendar = account.make_calendar("Work")
    day = local_day(5)
    calendar.save_event(
        vevent(
            "lunch-meeting",
            "BEGIN:VEVENT\nUID:{UID}\nDTSTAMP:20260101T000000Z\n"
            + span(day, "10:00", "11:00")
            + "SUMMARY:Meeting with the bank\nEND:VEVENT",
        )
    )
    connection = await connect_caldav(client, tenant, account)
    assert [c["name"] for c in connection["calendars"]] == ["Work"]
    assert connection["calendars"][0]["blocks_time"] and connection["calendars"][0]["receives_bookings"]
    assert "password" not in str(connection) and account.password not in str(connection)

    before = await free_times(client, tenant, day)
    assert "10:00" in before
    await calendar_sync.sync_connection(connection["id"], datetime.now(UTC))

    after = await free_times(client, tenant, day)
    assert "09:30" in after and "11:00" in after
    assert "10:00" not in after and "10:30" not in after
    refused = await book_check_up(client, tenant, at(day, "10:30"), "Ana Lopez")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "SLOT_TAKEN"

    calendar.event_by_uid("lunch-meeting").delete()
    await calendar_sync.sync_connection(connection["id"], datetime.now(UTC))
    assert "10:00" in await free_times(client, tenant, day)


async def test_a_weekly_meeting_blocks_every_week_but_the_cancelled_one_and_all_day_blocks_the_day(
    client, tenant, radicale, calendar_sync
):
    account = radicale.new_account()
    calendar = account.make_calendar("Work")
    first = local_day(3)
    weeks = [first + timedelta(days=7 * n) for n in range(4)]
    calendar.save_event(
        vevent(
            "weekly",
            "BEGIN:VEVENT\nUID:{UID}\nDTSTAMP:20260101T000000Z\n"
            + span(first, "14:00", "15:00")
            + "RRULE:FREQ=WEEKLY;COUNT=4\nSUMMARY:Team meeting\nEND:VEVENT\n"
            f"BEGIN:VEVENT\nUID:{{UID}}\nDTSTAMP:20260101T000000Z\n"
            f"RECURRENCE-ID;TZID={{TZ}}:{_stamp(at(weeks[2], '14:00'))}\n"
            + span(weeks[2], "14:00", "15:00")
            + "STATUS:CANCELLED\nSUMMARY:Team meeting\nEND:VEVENT",
        )
    )
    day_off = local_day(4)
    calendar.save_event(
        vevent(
            "day-off",
            f"BEGIN:VEVENT\nUID:{{UID}}\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:{day_off:%Y%m%d}\n"
            f"DTEND;VALUE=DATE:{day_off + timedelta(days=1):%Y%m%d}\nSUMMARY:Day off\nEND:VEVENT",
        )
    )
    free_day = local_day(2)
    calendar.save_event(
        vevent(
            "free-reminder",
            "BEGIN:VEVENT\nUID:{UID}\nDTSTAMP:20260101T000000Z\n"
            + span(free_day, "09:00", "17:00")
            + "TRANSP:TRANSPARENT\nSUMMARY:Conference (working from here)\nEND:VEVENT",
        )
    )
    connection = await connect_caldav(client, tenant, account)
    await calendar_sync.sync_connection(connection["id"], datetime.now(UTC))

    for n, week in enumerate(weeks):
        times = await free_times(client, tenant, week)
        if n == 2:
            assert "14:00" in times and "14:30" in times, "the cancelled occurrence still blocks"
        else:
            assert "14:00" not in times and "14:30" not in times, f"week {n + 1} is offered"
            assert "13:30" in times and "15:00" in times
    assert await free_times(client, tenant, day_off) == []
    untouched = await free_times(client, tenant, local_day(40))
    assert await free_times(client, tenant, free_day) == untouched, "a free event must not block"


async def test_our_booking_appears_in_the_calendar_moves_when_rescheduled_and_goes_when_cancelled(
    client, tenant, radicale, pusher
):
    account = radicale.new_account()
    calendar = account.make_calendar("Work")
    connection = await connect_caldav(client, tenant, account)
    day = local_day(6)
    booked = await book_check_up(client, tenant, at(day, "11:00"), "Ana Lopez", email="ana@example.com")
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    await pusher.push_due(datetime.now(UTC))

    def the_event():
        events = calendar.events()
        assert len(events) <= 1
        return Calendar.from_ical(events[0].data).walk("VEVENT")[0] if events else None

    event = the_event()
    assert event is not None, "the booking was not written to the calendar"
    assert str(event["UID"]) == f"{appointment['id']}@frontdesk"
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("DTSTART").astimezone(UTC) == at(day, "11:00").astimezone(UTC)
    assert event.decoded("DTEND").astimezone(UTC) == at(day, "11:30").astimezone(UTC)
    assert str(event["SUMMARY"]) == "Check-up \u2013 Ana"
    written = events_text = calendar.events()[0].data
    assert "Lopez" not in written and "2125550123" not in written and "ana@example.com" not in events_text

    moved = await client.post(
        f"/api/v1/bookings/{appointment['id']}/reschedule",
        json={"starts_at": iso(at(day, "15:00"))},
        headers=tenant.auth,
    )
    assert moved.status_code == 200, moved.text
    await pusher.push_due(datetime.now(UTC))
    assert the_event().decoded("DTSTART").astimezone(UTC) == at(day, "15:00").astimezone(UTC)

    cancelled = await client.post(
        f"/api/v1/bookings/{appointment['id']}/cancel", json={"reason": "feeling better"}, headers=tenant.auth
    )
    assert cancelled.status_code == 200, cancelled.text
    await pusher.push_due(datetime.now(UTC))
    assert the_event() is None
    assert connection["calendars"][0]["receives_bookings"]


async def test_a_wrong_password_is_refused_at_once_and_a_changed_one_breaks_the_connection(
    client, make_tenant, radicale, calendar_sync, db
):
    tenant = await make_tenant(settings={"min_lead_minutes": 0, "alert_email": "ops@clinic.example"})
    account = radicale.new_account()
    account.make_calendar("Work")
    wrong = await client.post(
        f"/api/v1/providers/{tenant.providers['Dr. Adams']}/calendar-connections/caldav",
        json={"server_url": account.server_url, "username": account.username, "password": "not-it"},
        headers=tenant.auth,
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"]["errors"][0]["field"] == "password"
    assert (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json() == []

    connection = await connect_caldav(client, tenant, account)
    users = radicale.users_file.read_text().replace(
        f"{account.username}:{account.password}", f"{account.username}:x"
    )
    radicale.users_file.write_text(users)
    result = await calendar_sync.sync_connection(connection["id"], datetime.now(UTC))
    assert result.error is not None

    listed = (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json()
    assert listed[0]["status"] == "broken" and not listed[0]["in_sync"]
    assert "app password" in listed[0]["last_error"]
    availability = await client.get(
        "/api/v1/availability",
        params={"service_id": tenant.services["Check-up"], "from": local_day(3).isoformat()},
        headers=tenant.auth,
    )
    assert availability.json()["out_of_sync_provider_ids"] == [tenant.providers["Dr. Adams"]]
    async with db.engine.connect() as conn:
        kinds = (
            (
                await conn.execute(
                    text("SELECT kind FROM notification_outbox WHERE tenant_id = :t"), {"t": tenant.id}
                )
            )
            .scalars()
            .all()
        )
        types = (
            (
                await conn.execute(
                    text("SELECT type FROM domain_events WHERE tenant_id = :t"), {"t": tenant.id}
                )
            )
            .scalars()
            .all()
        )
        sealed = (
            await conn.execute(
                text("SELECT secret_sealed FROM calendar_connections WHERE tenant_id = :t"), {"t": tenant.id}
            )
        ).scalar_one()
    assert "calendar.sync_failed" in types
    assert account.password not in sealed
    assert kinds == ["calendar_broken"]


async def test_rekeying_reseals_app_passwords_and_the_calendar_still_opens_with_only_the_new_key(
    client, tenant, radicale, db, settings
):
    account = radicale.new_account()
    account.make_calendar("Work")
    connection = await connect_caldav(client, tenant, account)
    new_key = KeyRing.new_key("k7")
    both = KeyRing.parse(f"{new_key},{settings.secrets_keys.get_secret_value()}")
    changed = await db.transaction(lambda session: connections.reseal_all(session, both))
    assert changed >= 1
    async with db.engine.connect() as conn:
        sealed = (
            await conn.execute(
                text("SELECT secret_sealed FROM calendar_connections WHERE id = :c"), {"c": connection["id"]}
            )
        ).scalar_one()
    assert sealed.startswith("k7:") and account.password not in sealed
    only_new = CalendarSync(db, settings.model_copy(update={"secrets_keys": SecretStr(new_key)}))
    result = await only_new.sync_connection(connection["id"], datetime.now(UTC))
    assert result.error is None


async def test_a_sync_of_a_connection_disconnected_meanwhile_does_nothing(
    client, tenant, radicale, calendar_sync
):
    account = radicale.new_account()
    account.make_calendar("Work")
    connection = await connect_caldav(client, tenant, account)
    gone = await client.delete(f"/api/v1/calendar-connections/{connection['id']}", headers=tenant.auth)
    assert gone.status_code == 204
    result = await calendar_sync.sync_connection(connection["id"], datetime.now(UTC))
    assert (result.calendars, result.error) == (0, "disconnected")
    assert (await client.get("/api/v1/calendar-connections", headers=tenant.auth)).json() == []
