"""An e-mail reminder's links in real Chromium, on `frontdesk serve --demo`: the reminder is sent the
way the worker sends it, to the local SMTP server, and the links are read from the message there.
Confirm confirms and the schedule shows the ✓; cancel asks on the page before it acts; the
reschedule link opens the chat on that booking, where the patient moves it."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from playwright.async_api import expect

from tests.e2e.test_widget import browser  # noqa: F401 - shared fixture
from tests.e2e.test_workspace import signed_in, weekday_ahead
from tests.support.db import rows
from tests.support.reminders import appointment_now, remind_by_email, smtp  # noqa: F401 - fixture


def local_clock(slot_time: str) -> str:
    hour, minute = map(int, slot_time.split(":"))
    return f"{hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


async def test_the_confirm_link_from_the_mail_confirms_and_the_schedule_shows_it(
    browser,  # noqa: F811
    live_server,
    db,
    settings,
    smtp,  # noqa: F811
):
    day = weekday_ahead(11)
    visit = await remind_by_email(db, settings, live_server, smtp, day, "Clara Clicker")
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    patient = await context.new_page()
    await patient.goto(live_server.base_url + visit.link("Confirm"))
    await expect(patient.get_by_role("heading", name="Bright Smile Dental")).to_be_visible()
    await expect(patient.get_by_role("status")).to_contain_text("your appointment is confirmed")
    assert (await appointment_now(db, visit.appointment_id))["confirmed_via"] == "email"

    staff = await signed_in(browser, live_server)
    await staff.goto(f"{live_server.base_url}/app/schedule?day={day}")
    [booked] = await rows(
        db,
        "SELECT to_char(starts_at AT TIME ZONE 'America/New_York', 'HH24:MI') AS hhmm FROM appointments "
        "WHERE id = :id",
        id=uuid.UUID(visit.appointment_id),
    )
    block = staff.get_by_role("button", name=re.compile(f"{booked['hhmm']} Clara Clicker"))
    await expect(block).to_be_visible()
    await expect(block.get_by_role("img", name="confirmed by email")).to_have_text("✓")
    await context.close()
    await staff.context.close()


async def test_the_cancel_link_asks_on_the_page_before_it_cancels(
    browser,  # noqa: F811
    live_server,
    db,
    settings,
    smtp,  # noqa: F811
):
    visit = await remind_by_email(db, settings, live_server, smtp, weekday_ahead(11), "Carl Cancelman")
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    await page.goto(live_server.base_url + visit.link("Cancel"))
    await expect(page.get_by_text("Cancel this appointment?")).to_be_visible()
    assert (await appointment_now(db, visit.appointment_id))["status"] == "booked"  # opening it did nothing

    await page.get_by_role("button", name="Yes, cancel it").click()
    await expect(page.get_by_role("status")).to_contain_text("cancelled")
    assert (await appointment_now(db, visit.appointment_id))["status"] == "cancelled"
    await page.reload()  # the result page again: nothing is posted twice
    await expect(page.get_by_role("status")).to_contain_text("cancelled")
    await context.close()


async def test_the_reschedule_link_opens_the_chat_on_the_booking_and_the_patient_moves_it(
    browser,  # noqa: F811
    live_server,
    db,
    settings,
    smtp,  # noqa: F811
):
    day = weekday_ahead(12)
    visit = await remind_by_email(db, settings, live_server, smtp, day, "Mona Mover")
    target = visit.free_after[-1]
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    await page.goto(live_server.base_url + visit.link("Move it in our chat"))
    log = page.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text("Hello Mona! Your Check-up with Dr. Maya Chen is on")

    box = page.get_by_role("textbox", name="Your message")
    await box.fill("running 10 min late sorry")
    await box.press("Enter")
    await expect(log).to_contain_text("about 10 minutes late")

    # The staff inbox flags the conversation with the late notice.
    staff = await signed_in(browser, live_server)
    await staff.goto(f"{live_server.base_url}/app/inbox")
    listed = staff.get_by_role("button", name=re.compile("Mona Mover"))
    await expect(listed.locator(".badge.late")).to_have_text("running late 10 min")
    await listed.click()
    await expect(staff.locator("#thread-late")).to_have_text("running late 10 min")
    await staff.context.close()

    moment = date.fromisoformat(target["local_date"])
    clock = local_clock(target["local_time"])
    await box.fill(f"can we do {moment:%A} {moment:%B} {moment.day} at {clock.lower()} instead?")
    await box.press("Enter")
    await expect(log).to_contain_text("Shall I move your Check-up")
    await (
        page.get_by_role("group", name="Suggested replies").get_by_role("button", name="Yes, move it").click()
    )
    await expect(log).to_contain_text("Done! Your Check-up is now on")
    moved_to = (await appointment_now(db, visit.appointment_id))["starts_at"]
    assert moved_to == datetime.fromisoformat(target["starts_at"])
    await context.close()
