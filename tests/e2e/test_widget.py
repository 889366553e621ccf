"""The widget in real Chromium, on a page served from another origin than the API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.support.db import rows
from tests.webchat.test_chat_flood import clinic_widget_key
from tests.webchat.test_webchat_socket import Client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class PageServer:
    """A static page on its own origin (http://localhost:<port>); its HTML can be set after it starts."""

    def __init__(self) -> None:
        self.html = ""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = owner.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def page_html(api: str, key: str) -> str:
    # The host page styles buttons loudly: the widget's Shadow DOM must not pick that up.
    return (
        "<!doctype html><html><head><meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Clinic</title><style>button{color:red;font-size:40px}</style></head>"
        "<body><h1>Our clinic</h1>"
        f"<script src='{api}/widget.js' data-key='{key}' data-title='Bright Smile Dental'></script>"
        "</body></html>"
    )


@pytest.fixture(scope="module")
def pages(live_server) -> Iterator[dict[str, str]]:
    """The same page on two origins; the widget key allows only the first."""
    allowed, other = PageServer(), PageServer()
    response = httpx.post(
        f"{live_server.base_url}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {live_server.demo_key}"},
        json={"kind": "publishable", "name": "e2e", "allowed_origins": [allowed.origin]},
    )
    assert response.status_code == 201
    allowed.html = other.html = page_html(live_server.base_url, response.json()["key"])
    yield {"allowed": allowed.origin, "other": other.origin}
    allowed.server.shutdown()
    other.server.shutdown()


@pytest.fixture(scope="module")
async def browser():
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


async def open_widget(page: Page) -> None:
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.get_by_role("status")).to_have_text("Online")


async def test_a_patient_books_on_a_phone_sized_screen_and_a_reload_keeps_the_conversation(
    browser, pages, db
):
    context = await browser.new_context(viewport={"width": 360, "height": 740})
    page = await context.new_page()
    await page.goto(pages["allowed"])
    await open_widget(page)
    panel = await page.get_by_role("dialog", name="Chat with Bright Smile Dental").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 360

    log = page.get_by_role("log", name="Conversation")
    chips = page.get_by_role("group", name="Suggested replies")
    await chips.get_by_role("button", name="Book an appointment").click()
    await expect(log).to_contain_text("Which service would you like to book?")
    await chips.get_by_role("button", name="Check-up").click()
    await expect(log).to_contain_text("Which works for you?")
    times = chips.get_by_role("button").filter(has_not_text="More times")
    assert 1 <= await times.count() <= 6
    chosen = await times.first.inner_text()
    await times.first.click()
    await expect(log).to_contain_text("What name should I put the booking under?")

    box = page.get_by_role("textbox", name="Your message")
    await box.fill("Jane Doe")
    await box.press("Enter")
    await expect(log).to_contain_text("best phone number or e-mail")
    await box.fill("jane.doe@example.com")
    await page.get_by_role("button", name="Send message").click()
    await expect(log).to_contain_text("Shall I book it?")
    await chips.get_by_role("button", name="Yes, book it").click()

    card = page.get_by_role("group", name="Appointment booked")
    await expect(card).to_be_visible()
    await expect(card).to_contain_text(chosen.split(" at ")[1])
    reference = (await card.locator("dd").last.inner_text()).strip()
    [appointment] = await rows(
        db,
        "SELECT a.status, c.name, c.email FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE a.reference = :r",
        r=reference,
    )
    assert appointment == {"status": "booked", "name": "Jane Doe", "email": "jane.doe@example.com"}

    await page.reload()
    await open_widget(page)
    await expect(page.get_by_role("group", name="Appointment booked")).to_contain_text(reference)
    await expect(log).to_contain_text("What name should I put the booking under?")
    await context.close()


async def test_a_page_on_another_origin_is_refused(browser, pages):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(pages["other"])
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.get_by_role("status")).to_have_text("Unavailable")
    await expect(page.get_by_role("alert")).to_contain_text(f"origin {pages['other']} is not allowed")
    await expect(page.get_by_role("button", name="Send message")).to_be_disabled()
    await context.close()


async def test_without_websocket_the_widget_falls_back_to_http(browser, pages):
    context = await browser.new_context()
    await context.add_init_script("delete window.WebSocket;")
    page = await context.new_page()
    await page.goto(pages["allowed"])
    await open_widget(page)
    box = page.get_by_role("textbox", name="Your message")
    await box.fill("what are your opening hours?")
    await box.press("Enter")
    await expect(page.get_by_role("log", name="Conversation")).to_contain_text("Mon-Fri: 9:00 AM-12:00 PM")
    await context.close()


async def test_the_widget_works_from_the_keyboard_and_keeps_its_own_styles(browser, pages):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(pages["allowed"])
    launcher = page.get_by_role("button", name="Open chat")
    # The launcher draws its icon as inline SVG: no glyph that a machine's fonts may lack.
    icon = await launcher.evaluate(
        "b => ({text: b.textContent.trim(), paths: b.querySelectorAll('svg path').length,"
        " width: b.querySelector('svg').getBoundingClientRect().width})"
    )
    assert icon == {"text": "", "paths": 1, "width": 28}
    await launcher.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Chat with Bright Smile Dental")
    await expect(dialog).to_be_visible()
    await expect(page.get_by_role("textbox", name="Your message")).to_be_focused()
    send_color = await page.get_by_role("button", name="Send message").evaluate(
        "b => getComputedStyle(b).color"
    )
    assert send_color == "rgb(255, 255, 255)"  # the host page's red buttons did not leak in
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await context.close()


async def test_the_demo_page_shows_a_working_widget(browser, live_server):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await expect(page.get_by_role("heading", name="Bright Smile Dental")).to_be_visible()
    await open_widget(page)
    chips = page.get_by_role("group", name="Suggested replies")
    await chips.get_by_role("button", name="Opening hours").click()
    await expect(page.get_by_role("log", name="Conversation")).to_contain_text("Mon-Fri: 9:00 AM-12:00 PM")
    await context.close()


def _weekday_ahead(days: int) -> datetime:
    """A weekday at least `days` ahead in New York (the demo clinic is closed at weekends)."""
    day = datetime.now(ZoneInfo("America/New_York")) + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def test_on_the_demo_page_a_patient_books_moves_and_cancels_by_typing_only(browser, live_server, db):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await open_widget(page)
    log = page.get_by_role("log", name="Conversation")
    box = page.get_by_role("textbox", name="Your message")

    async def say(text: str, expected: str) -> None:
        await box.fill(text)
        await box.press("Enter")
        await expect(log.get_by_text(expected).last).to_be_visible()

    day = _weekday_ahead(10)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10 if day.day not in (11, 12, 13) else 0, "th")
    await say(
        f"could you fit me in for a scale and polish on the {day.day}{suffix}, say quarter past three?",
        "I'm holding",
    )
    await expect(log).to_contain_text(f"{day:%b} {day.day} at 3:15 PM")
    await say("Jane Typist", "best phone number or e-mail")
    await say("617-555-0142", "Shall I book it?")
    await say("yes please", "You're booked!")
    reference = (
        await page.get_by_role("group", name="Appointment booked").locator("dd").last.inner_text()
    ).strip()

    await say("can I move it to the same day but in the afternoon, say half past one?", "Shall I move")
    await say("yes", "Done!")
    await say("actually please cancel my appointment", "Reply yes to cancel")
    await say("yes", "is cancelled")
    [appointment] = await rows(
        db,
        "SELECT a.status, a.starts_at, s.name AS service FROM appointments a "
        "JOIN services s ON s.id = a.service_id WHERE a.reference = :r",
        r=reference,
    )
    local = appointment["starts_at"].astimezone(ZoneInfo("America/New_York"))
    assert (appointment["service"], appointment["status"]) == ("Dental cleaning", "cancelled")
    assert (local.date(), local.strftime("%H:%M")) == (day.date(), "13:30")
    await context.close()


async def test_a_widget_over_a_limit_says_why_and_when_it_will_try_again(browser, limited_server):
    page_server = PageServer()
    key = clinic_widget_key(limited_server.base_url, page_server.origin)
    page_server.html = page_html(limited_server.base_url, key)
    # The key's two conversations of the hour are taken.
    for _ in range(2):
        client = Client()
        await client.connect(limited_server.base_url, key, origin=page_server.origin)
        await client.sio.disconnect()
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(page_server.origin)
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.get_by_role("status")).to_have_text("Unavailable")
    await expect(page.get_by_role("alert")).to_contain_text("too many new conversations")
    await expect(page.get_by_role("alert")).to_contain_text("retry in")
    await context.close()
    page_server.server.shutdown()
