"""Calendar sync end to end in real Chromium on `frontdesk serve --demo`: the owner connects Dr.
Chen's calendar on a real CalDAV server (Radicale) from the workspace, a meeting there takes its
time away from the demo widget after one sync, and the booking a patient then makes appears in the
calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar
from playwright.async_api import expect

from backend.calendars.push import CalendarPusher
from backend.calendars.sync import CalendarSync
from tests.e2e.test_widget import _weekday_ahead, browser, open_widget  # noqa: F401 - shared fixtures
from tests.e2e.test_workspace import free_times, signed_in
from tests.support.db import rows


async def test_a_calendar_connected_in_the_workspace_blocks_the_widget_and_receives_the_booking(
    browser,  # noqa: F811
    live_server,
    radicale,
    db,
    settings,
):
    account = radicale.new_account()
    calendar = account.make_calendar("Clinic days")
    page = await signed_in(browser, live_server)
    await page.get_by_role("link", name="Calendars").click()
    section = page.get_by_role("region", name="Dr. Maya Chen")
    await section.get_by_text("Connect a calendar for Dr. Maya Chen").click()
    form = section.get_by_role("form", name="Connect a CalDAV calendar for Dr. Maya Chen")
    await form.get_by_label("Server address").fill(account.server_url)
    await form.get_by_label("Username").fill(account.username)
    await form.get_by_label("App password").fill("not the password")
    await form.get_by_role("button", name="Connect CalDAV calendar").click()
    await expect(form.get_by_role("alert")).to_contain_text("app password")
    await form.get_by_label("App password").fill(account.password)
    await form.get_by_role("button", name="Connect CalDAV calendar").click()
    await expect(section.get_by_role("heading", name=f"CalDAV: {account.username}")).to_be_visible()
    await expect(section.get_by_role("cell", name="Clinic days", exact=True)).to_be_visible()
    await expect(section.get_by_label("Write Dr. Maya Chen's bookings to Clinic days")).to_be_checked()

    day = _weekday_ahead(17)
    stamp = day.strftime("%Y%m%d")
    calendar.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:supplier-visit\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART;TZID=America/New_York:{stamp}T093000\r\n"
        f"DTEND;TZID=America/New_York:{stamp}T110000\r\nSUMMARY:Supplier visit\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    free_before = [s["local_time"] for s in await free_times(live_server, str(day.date()))]
    assert "10:00" in free_before, free_before
    [connection] = await rows(
        db, "SELECT id FROM calendar_connections WHERE account = :a", a=account.username
    )
    result = await CalendarSync(db, settings).sync_connection(connection["id"], datetime.now(UTC))
    assert result.error is None

    widget = await browser.new_context()
    patient = await widget.new_page()
    await patient.goto(f"{live_server.base_url}/demo")
    await open_widget(patient)
    log = patient.get_by_role("log", name="Conversation")
    box = patient.get_by_role("textbox", name="Your message")
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10 if day.day not in (11, 12, 13) else 0, "th")
    await box.fill(f"can I come in for a check-up on the {day.day}{suffix} at 10am?")
    await box.press("Enter")
    await expect(log).to_contain_text("10:00 AM isn't available")
    chips = patient.get_by_role("group", name="Suggested replies")
    offered = [t.strip() for t in await chips.get_by_role("button").all_inner_texts()]
    that_day = f"{day:%a}, {day:%b} {day.day} at"
    assert f"{that_day} 11:00 AM" in offered, offered
    assert not [
        t for t in offered if t.startswith(that_day) and t.endswith(("9:30 AM", "10:00 AM", "10:30 AM"))
    ]
    await chips.get_by_role("button", name=f"{that_day} 11:00 AM").click()

    async def say(text: str, expected: str) -> None:
        await box.fill(text)
        await box.press("Enter")
        await expect(log.get_by_text(expected).last).to_be_visible()

    await expect(log.get_by_text("What name should I put the booking under?").last).to_be_visible()
    await say("Wanda Calendar", "best phone number or e-mail")
    await say("617-555-0177", "Shall I book it?")
    await say("yes", "You're booked!")
    await widget.close()

    await CalendarPusher(db, settings).push_due(datetime.now(UTC))
    [event] = [
        Calendar.from_ical(e.data).walk("VEVENT")[0] for e in calendar.events() if "frontdesk" in e.data
    ]
    starts = event.decoded("DTSTART").astimezone(ZoneInfo("America/New_York"))
    assert (starts.date(), starts.strftime("%H:%M")) == (day.date(), "11:00")
    assert str(event["SUMMARY"]) == "Check-up \u2013 Wanda"

    await page.reload()
    await expect(page.get_by_text("Last read")).to_be_visible()
    await page.screenshot(path=str(live_server.output.parent / "calendars.png"), full_page=True)
    await page.context.close()
