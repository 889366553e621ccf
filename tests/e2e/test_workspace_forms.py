"""The workspace's forms in real Chromium on `frontdesk serve`, each on a clinic of its own, as a new
owner meets them: webhooks added, pinged and deleted; a second try after "just taken"; weekly hours
with a typo; a CalDAV server that is not there; a booking without contact details; a closure named
by its last day; and every page's assets (favicon included) answered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import local_day
from tests.e2e.test_widget import browser  # noqa: F401 - shared fixture
from tests.support.workspace import PASSWORD, Staff, live_owner


class Receiver:
    """A webhook receiver on this machine that answers 200 and counts what it got."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()


async def owner_page(
    browser,  # noqa: F811
    live_server,
    width: int = 1280,
    timezone_id: str | None = None,
    **spec: object,
) -> tuple[Page, Staff, dict]:
    """A new clinic (`tenant_spec(**spec)`) whose owner is signed in to the workspace in Chromium,
    on a computer in `timezone_id`; every answer the page gets is kept in `page.answers` (url,
    status)."""
    owner, clinic = await live_owner(live_server.base_url, **spec)
    context = await browser.new_context(viewport={"width": width, "height": 900}, timezone_id=timezone_id)
    page = await context.new_page()
    page.answers = []  # type: ignore[attr-defined]
    page.on("response", lambda r: page.answers.append((r.url, r.status)))  # type: ignore[attr-defined]
    await page.goto(f"{live_server.base_url}/app/login")
    await page.get_by_label("E-mail address").fill(owner.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("link", name="Schedule")).to_have_attribute("aria-current", "page")
    return page, owner, clinic


def api(live_server, clinic: dict) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=live_server.base_url, headers={"Authorization": f"Bearer {clinic['api_key']['key']}"}
    )


async def test_an_owner_adds_a_webhook_pings_it_and_deletes_it(browser, live_server, receiver):  # noqa: F811
    page, _, _ = await owner_page(browser, live_server)
    await page.goto(f"{live_server.base_url}/app/settings/connections")
    webhooks = page.get_by_role("region", name="Webhooks")
    await webhooks.get_by_label("URL").fill(receiver.url)
    await webhooks.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_role("dialog", name="Copy it now")
    await expect(secret.locator("code")).to_contain_text("whsec_")
    await secret.get_by_role("button", name="Done").click()

    endpoint = webhooks.get_by_role("link", name=receiver.url)
    await expect(endpoint).to_be_visible()
    await endpoint.click()
    await expect(page.get_by_role("heading", name=receiver.url)).to_be_visible()
    await page.get_by_role("button", name="Send a ping").click()
    await expect(page.get_by_role("status")).to_have_text("Ping sent")
    delivery = page.get_by_role("row").filter(has_text="webhook.ping")
    await expect(delivery).to_contain_text("200")
    assert [event["type"] for event in receiver.received] == ["webhook.ping"]

    page.on("dialog", lambda confirm: confirm.accept())
    await page.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    await expect(page.get_by_role("region", name="Webhooks")).to_contain_text("None yet.")
    await page.context.close()


def _weekday(days: int) -> date:
    return next(local_day(n) for n in range(days, days + 7) if local_day(n).weekday() < 5)


async def test_after_just_taken_the_same_form_books_another_time_and_says_booked(browser, live_server):  # noqa: F811
    page, _, clinic = await owner_page(browser, live_server)
    day = _weekday(9)
    check_up = next(s["id"] for s in clinic["services"] if s["name"] == "Check-up")
    adams = next(p["id"] for p in clinic["providers"] if p["name"] == "Dr. Adams")
    async with api(live_server, clinic) as http:
        taken = await http.post(
            "/api/v1/bookings",
            json={
                "service_id": check_up,
                "provider_id": adams,
                "starts_at": f"{day}T10:00:00-05:00" if day.month in (1, 2, 12) else f"{day}T10:00:00-04:00",
                "customer": {"name": "First Comer", "email": "first@example.com"},
            },
        )
    assert taken.status_code == 201, taken.text
    await page.goto(f"{live_server.base_url}/app/schedule?day={day}")
    await page.get_by_role("button", name="Book an appointment").click()
    dialog = page.get_by_role("dialog", name="Book an appointment")
    await dialog.get_by_label("Service").select_option(value=check_up)
    await dialog.get_by_label("Provider").select_option(label="Dr. Adams")
    await dialog.get_by_label("Time").fill("10:00")
    await dialog.get_by_label("Patient's name").fill("Second Try")
    await dialog.get_by_label("E-mail").fill("second@example.com")
    await dialog.get_by_role("button", name="Book", exact=True).click()
    await expect(dialog.get_by_role("alert")).to_contain_text("just taken")

    await dialog.get_by_label("Time").fill("10:30")
    await dialog.get_by_role("button", name="Book", exact=True).click()
    await expect(page.get_by_role("button", name="10:30 Second Try")).to_be_visible()
    # The confirmation is on the page the form led to, not gone with the reload.
    await expect(page.get_by_role("status")).to_have_text("Booked")
    await page.context.close()


async def test_a_typo_in_the_weekly_hours_names_the_part_and_saves_nothing(browser, live_server):  # noqa: F811
    page, _, clinic = await owner_page(browser, live_server)
    await page.goto(f"{live_server.base_url}/app/settings")
    box = page.get_by_label("Weekly hours").first
    original = await box.input_value()
    await box.fill(original.replace("tue 09:00-12:00, 13:00-17:00", "tue 9-12, 13:00-17:00"))
    form = box.locator("xpath=ancestor::form[1]")
    await form.get_by_role("button", name="Save hours").click()
    await expect(form.get_by_role("alert")).to_have_text(
        "Weekly hours: tue: \u201c9-12\u201d is not a time range like 09:00-12:00"
    )
    await expect(box).to_be_focused()
    await expect(box).to_have_attribute("aria-invalid", "true")
    async with api(live_server, clinic) as http:
        providers = (await http.get("/api/v1/providers")).json()
    tuesday = [h for h in providers[0]["hours"] if h["weekday"] == "tue"]
    assert [h["opens_at"][:5] for h in tuesday] == ["09:00", "13:00"]

    await box.fill(original.replace("tue 09:00-12:00, 13:00-17:00", "tue 9:00-12:00, 13:00-17:00"))
    await form.get_by_role("button", name="Save hours").click()
    await expect(page.get_by_role("status")).to_have_text("Hours saved")
    await page.context.close()


async def test_a_caldav_server_that_is_not_there_is_said_in_a_sentence(browser, live_server):  # noqa: F811
    page, _, _ = await owner_page(browser, live_server)
    await page.goto(f"{live_server.base_url}/app/calendars")
    await page.get_by_text("Connect a calendar for Dr. Adams").click()
    form = page.get_by_role("form", name="Connect a CalDAV calendar for Dr. Adams")
    await form.get_by_label("Server address").fill("http://127.0.0.1:9/dav/")
    await form.get_by_label("Username").fill("adams")
    await form.get_by_label("App password").fill("app-password")
    await form.get_by_role("button", name="Connect CalDAV calendar").click()
    alert = form.get_by_role("alert")
    await expect(alert).to_contain_text("refused the connection")
    text = await alert.inner_text()
    for raw in ("HTTPConnectionPool", "0x", "Errno", "urllib3", "NewConnectionError"):
        assert raw not in text
    await page.context.close()


async def test_the_book_dialog_asks_for_a_phone_or_an_e_mail_before_sending(browser, live_server):  # noqa: F811
    page, _, _ = await owner_page(browser, live_server, width=768)
    await page.goto(f"{live_server.base_url}/app/schedule?day={_weekday(9)}")
    await page.get_by_role("button", name="Book an appointment").click()
    dialog = page.get_by_role("dialog", name="Book an appointment")
    await expect(dialog.get_by_role("group", name="phone or e-mail, at least one")).to_be_visible()
    await dialog.get_by_label("Time").fill("11:00")
    await dialog.get_by_label("Patient's name").fill("No Contact")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/v1/bookings") else None)
    await dialog.get_by_role("button", name="Book", exact=True).click()
    await expect(dialog.get_by_role("alert")).to_have_text(
        "Give a phone number or an e-mail address: the patient hears from the clinic by one of them."
    )
    await expect(dialog.get_by_label("Phone")).to_be_focused()
    assert sent == []
    await page.context.close()


async def test_a_closure_is_named_by_its_last_day_and_no_page_asset_is_missing(browser, live_server):  # noqa: F811
    page, _, clinic = await owner_page(browser, live_server)
    await page.goto(f"{live_server.base_url}/app/settings")
    closures = page.get_by_role("region", name="Closures")
    first, last = local_day(30), local_day(32)
    await closures.get_by_label("From").fill(str(first))
    await closures.get_by_label("Through (last closed day)").fill(str(last))
    await closures.get_by_label("Reason").fill("Holiday")
    await closures.get_by_role("button", name="Add closure").click()
    await expect(page.get_by_role("status")).to_have_text("Closure added")
    shown = f"{first:%a} {first.day} {first:%b %Y} to {last:%a} {last.day} {last:%b %Y}"
    await expect(page.get_by_role("region", name="Closures")).to_contain_text(shown)
    async with api(live_server, clinic) as http:
        [closure] = (await http.get("/api/v1/closures")).json()
    assert closure["ends_at"].startswith(f"{last + timedelta(days=1)}T00:00:00")

    for path in ("/app/schedule", "/app/inbox", "/app/audit", "/app/messages"):
        await page.goto(f"{live_server.base_url}{path}")
        await page.wait_for_load_state("networkidle")
    missing = [(url, status) for url, status in page.answers if status >= 400]  # type: ignore[attr-defined]
    assert missing == []
    assert (await page.request.get(f"{live_server.base_url}/favicon.ico")).status == 200
    await page.context.close()
