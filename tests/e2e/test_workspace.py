"""The workspace in real Chromium on `frontdesk serve --demo`: signing in, the schedule, a patient
and a member of staff chatting live across two browsers, an SMS taken over, templates, erasure."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import socketio
from playwright.async_api import Page, expect

from backend.conversations.receptionist import build_turns
from backend.telephony.sms_inbox import SmsInbox
from backend.webchat.live import SocketLive
from tests.conftest import local_day
from tests.e2e.test_handoff import post_signed
from tests.e2e.test_widget import browser, open_widget, pages  # noqa: F401 - shared fixtures
from tests.fakes.twilio_server import running_fake_twilio
from tests.support.db import rows
from tests.support.messaging import dispatcher_for, new_phone, provider_settings


async def signed_in(browser, live_server, width: int = 1280) -> Page:  # noqa: F811
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/app")
    await expect(page.get_by_role("heading", name="Sign in to Frontdesk")).to_be_visible()
    await page.get_by_label("E-mail address").fill(live_server.owner_email)
    await page.get_by_label("Password").fill(live_server.owner_password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("link", name="Schedule")).to_have_attribute("aria-current", "page")
    return page


def weekday_ahead(days: int) -> str:
    return str(next(local_day(n) for n in range(days, days + 7) if local_day(n).weekday() < 5))


async def check_up_id(live_server) -> str:
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
        services = (await api.get("/api/v1/services")).json()
    return next(s["id"] for s in services if s["name"] == "Check-up")


async def free_times(live_server, day: str) -> list[dict]:
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
        services = (await api.get("/api/v1/services")).json()
        check_up = next(s for s in services if s["name"] == "Check-up")
        found = await api.get("/api/v1/availability", params={"service_id": check_up["id"], "from": day})
    return [s for s in found.json()["slots"] if s["provider_name"] == "Dr. Maya Chen"]


async def test_book_move_and_cancel_from_the_schedule_and_a_lost_race_says_just_taken(
    browser,  # noqa: F811
    live_server,
    db,
):
    page = await signed_in(browser, live_server)
    day = weekday_ahead(20)
    await page.goto(f"{live_server.base_url}/app/schedule?day={day}")
    slots = await free_times(live_server, day)
    first, later = slots[0], slots[4]

    await page.get_by_role("button", name="Book an appointment").click()
    dialog = page.get_by_role("dialog", name="Book an appointment")
    await dialog.get_by_label("Service").select_option(value=await check_up_id(live_server))
    await dialog.get_by_label("Provider").select_option(label="Dr. Maya Chen")
    await dialog.get_by_role("button", name="Show free times").click()
    await dialog.get_by_role("button", name=f"{first['local_time']} Dr. Maya Chen").click()
    await dialog.get_by_label("Patient's name").fill("Wanda Schedule")
    await dialog.get_by_label("Phone").fill(new_phone())
    await dialog.get_by_role("button", name="Book", exact=True).click()
    block = page.get_by_role("button", name=re.compile(f"{first['local_time']} Wanda Schedule"))
    await expect(block).to_be_visible()

    await block.click()
    details = page.get_by_role("dialog", name=re.compile("Wanda Schedule"))
    await details.get_by_label("Time").fill(later["local_time"])
    await details.get_by_role("button", name="Move", exact=True).click()
    moved = page.get_by_role("button", name=re.compile(f"{later['local_time']} Wanda Schedule"))
    await expect(moved).to_be_visible()
    [row] = await rows(
        db,
        "SELECT a.id, a.status FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE c.name = 'Wanda Schedule'",
    )
    assert row["status"] == "booked"

    # Someone else takes a time while the form is open: the form says so and keeps what was typed.
    await page.get_by_role("button", name="Book an appointment").click()
    dialog = page.get_by_role("dialog", name="Book an appointment")
    await dialog.get_by_label("Provider").select_option(label="Dr. Maya Chen")
    await dialog.get_by_label("Time").fill(later["local_time"])
    await dialog.get_by_label("Patient's name").fill("Late Larry")
    await dialog.get_by_label("Phone").fill(new_phone())
    await dialog.get_by_role("button", name="Book", exact=True).click()
    await expect(dialog.get_by_role("alert")).to_contain_text("just taken")
    await expect(dialog.get_by_label("Patient's name")).to_have_value("Late Larry")
    await dialog.get_by_role("button", name="Close").click()

    page.on("dialog", lambda confirm: confirm.accept())
    await moved.click()
    await page.get_by_role("button", name="Cancel appointment").click()
    await expect(moved).to_be_hidden()
    [row] = await rows(db, "SELECT status FROM appointments WHERE id = :i", i=row["id"])
    assert row["status"] == "cancelled"
    await page.context.close()


async def test_a_patient_and_staff_chat_live_across_browsers_and_the_receptionist_returns(
    browser,  # noqa: F811
    live_server,
    pages,  # noqa: F811
):
    patient_context = await browser.new_context(viewport={"width": 390, "height": 800})
    patient = await patient_context.new_page()
    await patient.goto(pages["allowed"])
    await open_widget(patient)
    log = patient.get_by_role("log", name="Conversation")
    box = patient.get_by_role("textbox", name="Your message")
    await box.fill("I'd like to speak to a person please")
    await box.press("Enter")
    await expect(log).to_contain_text("I'd like to speak to a person please")

    staff = await signed_in(browser, live_server)
    await staff.goto(f"{live_server.base_url}/app/inbox")
    await staff.get_by_label("Show").select_option("needs_human")
    await expect(staff.locator("#waiting-badge")).to_be_visible()
    await staff.get_by_role("list", name="Conversations").get_by_role("button").first.click()
    thread = staff.get_by_role("log", name="Messages")
    await expect(thread).to_contain_text("I'd like to speak to a person please")

    await staff.get_by_role("button", name="Take over").click()
    await expect(log).to_contain_text("Dana from Bright Smile Dental has joined the conversation.")
    await staff.get_by_label("Your reply").fill("Hi, Dana here. What can I do for you?")
    await staff.get_by_role("button", name="Send", exact=True).click()
    await expect(log).to_contain_text("Hi, Dana here. What can I do for you?")

    await box.fill("Can you fit me in on Friday?")
    await box.press("Enter")
    await expect(thread).to_contain_text("Can you fit me in on Friday?")  # live, without a reload
    await patient.wait_for_timeout(500)
    await expect(log).not_to_contain_text("Which service")  # the receptionist stayed silent

    await staff.get_by_role("button", name="Hand back to the receptionist").click()
    await expect(log).to_contain_text("You're back with the virtual receptionist.")
    await box.fill("what are your opening hours?")
    await box.press("Enter")
    await expect(log).to_contain_text("Mon-Fri: 9:00 AM-12:00 PM")
    await expect(thread).to_contain_text("Mon-Fri: 9:00 AM-12:00 PM")
    await staff.context.close()
    await patient_context.close()


async def test_an_sms_conversation_is_taken_over_and_the_reply_reaches_the_phone(
    browser,  # noqa: F811
    live_server,
    settings,
    db,
):
    api, auth = live_server.base_url, {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient() as http:
        added = await http.post(
            f"{api}/api/v1/phone-numbers", headers=auth, json={"number": new_phone("646")}
        )
    practice, patient = added.json()["number"], new_phone()
    staff = await signed_in(browser, live_server)
    await staff.goto(f"{api}/app/inbox")

    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None)
        # The worker's part: answer the text and push it to the inbox through Redis.
        live = SocketLive(socketio.AsyncRedisManager(settings.redis_url, write_only=True))
        inbox = SmsInbox(db, config, build_turns(db, config, live))
        sms = {
            "MessageSid": f"SM{datetime.now(UTC).timestamp():.0f}",
            "From": patient,
            "To": practice,
            "Body": "Can a person call me back?",
            "NumMedia": "0",
        }
        await post_signed(api, "/twilio/sms", sms)
        while await inbox.process_due(datetime.now(UTC)):
            pass
        item = staff.get_by_role("list", name="Conversations").get_by_role(
            "button", name=re.compile(re.escape(patient))
        )
        await expect(item).to_be_visible()
        await item.click()
        await staff.get_by_role("button", name="Take over").click()
        await staff.get_by_label("Send in quiet hours").check()
        await staff.get_by_label("Your reply").fill("Hi, this is Dana. I'll call you in 5 minutes.")
        await expect(staff.get_by_text("1 text message(s)")).to_be_visible()
        await staff.get_by_role("button", name="Send", exact=True).click()
        await expect(staff.get_by_role("log", name="Messages")).to_contain_text("I'll call you in 5 minutes.")
        async with dispatcher_for(db, config) as dispatcher:
            await dispatcher.drain(datetime.now(UTC))
        texts = [m.body for m in twilio.to(patient)]
        assert "Hi, this is Dana. I'll call you in 5 minutes." in texts
    await staff.context.close()


async def test_a_template_edited_with_a_live_preview(browser, live_server):  # noqa: F811
    page = await signed_in(browser, live_server, width=768)
    await page.goto(f"{live_server.base_url}/app/settings")
    section = page.locator("details", has_text="Reminder (text)")
    await section.locator("summary").click()
    wording = section.get_by_label("Wording")
    await wording.fill("Hi {{ first_name }}, see you {{ when }} at {{ practice }}!")
    await expect(section.locator(".preview")).to_contain_text("at Bright Smile Dental!")
    await expect(section.locator(".segments")).to_contain_text("1 segment")
    await section.get_by_role("button", name="Save").click()
    await expect(page.locator("details", has_text="Reminder (text)").get_by_text("custom")).to_be_visible()
    await wording_is_saved(live_server)
    await page.context.close()


async def wording_is_saved(live_server) -> None:
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
        listed = (await api.get("/api/v1/message-templates")).json()
        [reminder] = [t for t in listed if t["kind"] == "reminder" and t["part"] == "sms"]
        assert reminder["customized"] and "see you" in reminder["source"]
        await api.delete("/api/v1/message-templates/reminder/sms")


async def test_a_patient_erased_from_their_profile_leaves_nothing_behind(
    browser,  # noqa: F811
    live_server,
    db,
):
    day = weekday_ahead(25)
    slot = (await free_times(live_server, day))[0]
    phone = new_phone()
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
        services = (await api.get("/api/v1/services")).json()
        booked = await api.post(
            "/api/v1/bookings",
            json={
                "service_id": next(s["id"] for s in services if s["name"] == "Check-up"),
                "provider_id": slot["provider_id"],
                "starts_at": slot["starts_at"],
                "customer": {"name": "Gustav Erasmus", "phone": phone, "email": "gustav.erasmus@example.com"},
            },
        )
    assert booked.status_code == 201, booked.text

    page = await signed_in(browser, live_server)
    await page.goto(f"{live_server.base_url}/app/patients")
    await page.get_by_label("Find").fill("erasmus")
    await page.get_by_role("button", name="Search").click()
    await page.get_by_role("link", name="Gustav Erasmus").click()
    await expect(page.get_by_role("heading", name="Gustav Erasmus")).to_be_visible()
    page.on("dialog", lambda confirm: confirm.accept())
    await page.get_by_role("button", name="Erase this patient").click()
    await expect(page.get_by_text("personal data was erased")).to_be_visible()

    for needle in ("Gustav", "Erasmus", phone, "gustav.erasmus@example.com"):
        tables = await rows(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for table in (t["tablename"] for t in tables):
            hits = await rows(
                db, f'SELECT 1 FROM "{table}" t WHERE t::text ILIKE :n LIMIT 1', n=f"%{needle}%"
            )
            assert not hits, (needle, table)
    await page.context.close()
