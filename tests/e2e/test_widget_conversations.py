"""Patients who leave the script, in real Chromium on the demo page of `frontdesk serve --demo`,
typing only: several requests in one message, a change of time, a question the clinic's FAQ
answers, a service the clinic does not offer, a booking moved by its reference, and messages the
receptionist cannot read."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, expect

from tests.e2e.test_widget import _weekday_ahead, browser, open_widget  # noqa: F401 - shared fixture
from tests.support.db import rows

NY = ZoneInfo("America/New_York")


class Typist:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.log = page.get_by_role("log", name="Conversation")
        self.box = page.get_by_role("textbox", name="Your message")

    async def say(self, text: str, *expected: str | re.Pattern[str]) -> None:
        await self.box.fill(text)
        await self.box.press("Enter")
        for words in expected:
            await expect(self.log.get_by_text(words).last).to_be_visible()
        await expect(self.page.locator(".typing")).to_have_text("")  # never a stuck indicator


async def appointment(db, reference: str) -> tuple[str, str, str]:
    [row] = await rows(
        db,
        "SELECT a.status, a.starts_at, s.name AS service FROM appointments a "
        "JOIN services s ON s.id = a.service_id WHERE a.reference = :r",
        r=reference,
    )
    return row["service"], row["starts_at"].astimezone(NY).strftime("%Y-%m-%d %H:%M"), row["status"]


async def test_hours_and_a_booking_in_one_message_then_a_new_time_a_question_and_a_service_not_offered(
    browser,  # noqa: F811
    live_server,
    db,
):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await open_widget(page)
    patient = Typist(page)
    day = _weekday_ahead(8)
    on = f"{day:%A}, {day:%B} {day.day}"

    await patient.say(
        f"hi, what are your opening hours? and can I book a check-up on {on} at 10am",
        "Mon-Fri: 9:00 AM-12:00 PM",
        f"I'm holding {day:%a, %b} {day.day} at 10:00 AM",
    )
    await patient.say("hmm could we do 11 instead", f"I've let {day:%a, %b} {day.day} at 10:00 AM go")
    await expect(patient.log).to_contain_text(f"I'm holding {day:%a, %b} {day.day} at 11:00 AM")
    # A question on the way, answered from the clinic's FAQ; the booking goes on where it was.
    await patient.say("is there parking?", "Maple Street Garage")
    await expect(patient.log.get_by_text("What name should I put the booking under?").last).to_be_visible()
    await patient.say("do you do implants?", "we don't do implants here")
    await patient.say("Jane Typist", "best phone number or e-mail")
    await patient.say("jane.typist@example.com", "Shall I book it?")
    await patient.say("yes", "You're booked!")
    reference = (
        await page.get_by_role("group", name="Appointment booked").locator("dd").last.inner_text()
    ).strip()
    assert await appointment(db, reference) == ("Check-up", f"{day:%Y-%m-%d} 11:00", "booked")
    ten = day.replace(hour=10, minute=0, second=0, microsecond=0)
    # This clinic's hold (other tests' clinics may hold that time too).
    [let_go] = await rows(
        db,
        "SELECT status FROM holds WHERE starts_at = :s "
        "AND tenant_id = (SELECT tenant_id FROM appointments WHERE reference = :r)",
        s=ten,
        r=reference,
    )
    assert let_go["status"] == "released"  # not left held for its five minutes
    await context.close()


async def test_a_second_patient_moves_a_booking_by_its_reference_forty_five_minutes_later(
    browser,  # noqa: F811
    live_server,
    db,
):
    # An afternoon time with the time 45 minutes later free too, a week after the first patient's day
    # (the shared demo server's other tests book there as well, in any order).
    first_day = _weekday_ahead(15).date()
    async with httpx.AsyncClient(
        base_url=live_server.base_url, headers={"Authorization": f"Bearer {live_server.demo_key}"}
    ) as api:
        services = {s["name"]: s["id"] for s in (await api.get("/api/v1/services")).json()}
        free = await api.get(
            "/api/v1/availability",
            params={
                "service_id": services["Check-up"],
                "from": first_day.isoformat(),
                "to": (first_day + timedelta(days=6)).isoformat(),
            },
        )
        starts = {datetime.fromisoformat(slot["starts_at"]) for slot in free.json()["slots"]}
        day = min(t for t in starts if t.hour >= 13 and t + timedelta(minutes=45) in starts)
        moved = day + timedelta(minutes=45)
        made = await api.post(
            "/api/v1/bookings",
            json={
                "service_id": services["Check-up"],
                "starts_at": day.isoformat(),
                "customer": {"name": "Sam Mover", "phone": "+16175550143"},
            },
        )
    assert made.status_code == 201, made.text
    reference = made.json()["reference"]

    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await open_widget(page)
    patient = Typist(page)
    await patient.say(f"{reference} - move it forty-five minutes later", "phone number or e-mail")
    await patient.say("617-555-0143", "Shall I move your Check-up")
    clock = f"{moved.hour % 12 or 12}:{moved:%M %p}"
    await expect(patient.log).to_contain_text(f"{moved:%a, %b} {moved.day} at {clock}")
    await patient.say("yes", "Done!")
    assert await appointment(db, reference) == ("Check-up", f"{moved:%Y-%m-%d %H:%M}", "booked")
    await context.close()


async def test_messages_the_receptionist_cannot_read_get_a_kind_answer(browser, live_server):  # noqa: F811
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await open_widget(page)
    patient = Typist(page)
    long = "please read all of this " * 210  # about 5,000 characters
    await patient.box.fill(long)
    await patient.box.press("Enter")
    await expect(page.get_by_role("alert").last).to_contain_text("too long")
    assert await patient.box.input_value() == long  # kept, to be shortened; nothing was sent
    await patient.say("🙂🙂", "I can only read words")
    await patient.say("hola, quiero una cita", "I can only help in English")
    chips = page.get_by_role("group", name="Suggested replies")
    await expect(chips.get_by_role("button", name="Talk to a person")).to_be_visible()
    # Read like any other message: held, or the nearest free times when another test took 10:00.
    await patient.say("I NEED A CHECK-UP ON MONDAY AT 10AM", re.compile(r"I'm holding|closest to 10:00 AM"))
    await context.close()
