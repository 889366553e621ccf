"""An emergency reaches the clinic at once, in real Chromium on `frontdesk serve` and a worker:
a patient types it in the widget mid-booking (or texts it in), and within seconds a member of staff's
open inbox shows the flagged conversation with its alert, the on-call phone gets a text at the
local Twilio server, and the clinic's webhook receiver gets `conversation.emergency`, signed.

Each check polls until it holds or a deadline passes; nothing measures how long it took.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import ADMIN_SECRET, ROOT, SECRETS_KEYS, _free_port, tenant_spec
from tests.e2e.test_handoff import post_signed
from tests.e2e.test_widget import PageServer, browser, open_widget, page_html  # noqa: F401 - fixtures
from tests.fakes import twilio_server as twilio
from tests.fakes.twilio_server import running_fake_twilio
from tests.fakes.webhook_receiver import Received, Receiver, running_receiver
from tests.support.messaging import new_phone
from tests.support.phone import new_sid
from tests.support.workspace import PASSWORD, accept_invite

T = TypeVar("T")
DEADLINE_SECONDS = 5.0
START_SECONDS = 120  # a loaded machine starts a server slowly; that is not what is tested here
# What the staff page's browser APIs were asked to do: the notifications shown and the tones played.
ALERT_SPY = """
window.__alerts = { notes: [], tones: 0 };
window.Notification = class {
  constructor(title, options) { window.__alerts.notes.push({ title: title, body: options && options.body }); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function () {
  window.__alerts.tones += 1;
  return start.apply(this, arguments);
};
"""


@dataclass
class Clinic:
    base_url: str
    api_key: str
    owner_email: str
    on_call: str
    practice_number: str
    widget_page: str
    twilio: twilio.FakeTwilio
    receiver: Receiver

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def _environment(settings, fake: twilio.FakeTwilio, base_url: str, data_dir) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "ADMIN_SECRET": ADMIN_SECRET,
        "SECRETS_KEYS": SECRETS_KEYS,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS_ENABLED": "false",
        "PUBLIC_BASE_URL": base_url,
        "TWILIO_ACCOUNT_SID": twilio.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": twilio.AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": twilio.FROM_NUMBER,
        "TWILIO_API_BASE_URL": fake.base_url,
        "WORKER_SWEEP_SECONDS": "1",
    }


async def _started(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if (await http.get(f"{base_url}/ready", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "frontdesk serve did not start"
            await asyncio.sleep(0.2)


async def _new_clinic(base_url: str, fake: twilio.FakeTwilio, receiver: Receiver, page: PageServer) -> Clinic:
    owner = f"owner-{new_sid('x')[-8:]}@clinic.example"
    on_call = new_phone("617")
    async with httpx.AsyncClient(base_url=base_url) as http:
        made = await http.post(
            "/api/v1/tenants",
            json=tenant_spec(
                settings={"min_lead_minutes": 0, "max_days_ahead": 400, "on_call_phone": on_call}
            )
            | {"owner": {"email": owner, "name": "Dana Owner"}},
            headers={"X-Admin-Secret": ADMIN_SECRET},
        )
        assert made.status_code == 201, made.text
        auth = {"Authorization": f"Bearer {made.json()['api_key']['key']}"}
        async with httpx.AsyncClient(base_url=base_url, follow_redirects=False) as browserless:
            invited = await accept_invite(browserless, made.json()["owner_invite_url"])
            assert invited.status_code == 303
        hook = await http.post(
            "/api/v1/webhook-endpoints",
            json={"url": receiver.url, "event_types": ["conversation.emergency", "conversation.urgent"]},
            headers=auth,
        )
        assert hook.status_code == 201, hook.text
        receiver.secrets = [hook.json()["secret"]]
        widget = await http.post(
            "/api/v1/api-keys", json={"kind": "publishable", "allowed_origins": [page.origin]}, headers=auth
        )
        number = await http.post("/api/v1/phone-numbers", json={"number": new_phone("646")}, headers=auth)
        assert widget.status_code == number.status_code == 201
    page.html = page_html(base_url, widget.json()["key"])
    return Clinic(
        base_url,
        made.json()["api_key"]["key"],
        owner,
        on_call,
        number.json()["number"],
        page.origin,
        fake,
        receiver,
    )


@pytest.fixture(scope="module")
async def clinic(settings, tmp_path_factory) -> AsyncIterator[Clinic]:
    """`frontdesk serve` and `frontdesk worker` on the test database, texting through the local
    Twilio server, with a clinic whose webhooks go to a local receiver."""
    async with running_fake_twilio() as fake, running_receiver() as receiver:
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = _environment(settings, fake, base_url, tmp_path_factory.mktemp("alerts"))
        commands = (
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
            [sys.executable, "-m", "backend.cli", "worker"],
        )
        processes = [await asyncio.to_thread(subprocess.Popen, c, cwd=ROOT, env=env) for c in commands]
        page = PageServer()
        try:
            await _started(base_url)
            yield await _new_clinic(base_url, fake, receiver, page)
        finally:
            page.server.shutdown()
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()  # never left running against a database that is about to go
                    process.wait()


async def staff_inbox(browser: Browser, clinic: Clinic) -> Page:  # noqa: F811
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(ALERT_SPY)
    page = await context.new_page()
    await page.goto(f"{clinic.base_url}/app/login")
    await page.get_by_label("E-mail address").fill(clinic.owner_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("link", name="Schedule")).to_have_attribute("aria-current", "page")
    await page.goto(f"{clinic.base_url}/app/inbox")
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    return page


class Deadline:
    """DEADLINE_SECONDS from the patient's message: every check polls until it holds or this passes."""

    def __init__(self) -> None:
        self.at = time.monotonic() + DEADLINE_SECONDS

    @property
    def ms_left(self) -> float:
        return max(0.0, self.at - time.monotonic()) * 1000

    async def until(self, check: Callable[[], list[T]], what: str) -> list[T]:
        while True:
            found = check()
            if found:
                return found
            assert time.monotonic() < self.at, f"not within {DEADLINE_SECONDS:.0f} s of the message: {what}"
            await asyncio.sleep(0.1)


def emergency_hooks(receiver: Receiver) -> list[Received]:
    return receiver.of_type("conversation.emergency")


async def the_clinic_is_told(
    staff: Page, clinic: Clinic, deadline: Deadline, patient: str, where: str, hooks_before: int
) -> None:
    """What the clinic has within the deadline: the alert in the open inbox, the on-call text, the
    signed webhook; none of them with the patient's words."""
    alert = staff.get_by_role("list", name="Alerts").get_by_role("listitem").filter(has_text=patient)
    await expect(alert).to_contain_text("Emergency · stroke", timeout=deadline.ms_left)
    await deadline.until(
        lambda: [
            m
            for m in clinic.twilio.to(clinic.on_call)
            if f"EMERGENCY (stroke) flagged in a {where}" in m.body
        ],
        "the on-call text",
    )
    [hook] = await deadline.until(lambda: emergency_hooks(clinic.receiver)[hooks_before:], "the webhook")
    # The receiver keeps only what the official Standard Webhooks library verified with the secret.
    assert hook.headers["webhook-signature"].startswith("v1,") and not clinic.receiver.rejected
    assert hook.body["data"]["category"] == "stroke"
    assert "drooping" not in hook.raw.decode()


async def test_an_emergency_typed_in_the_widget_mid_booking_reaches_staff_phone_and_webhook(
    browser,  # noqa: F811
    clinic,
):
    staff = await staff_inbox(browser, clinic)
    patient_context = await browser.new_context(viewport={"width": 390, "height": 800})
    patient = await patient_context.new_page()
    await patient.goto(clinic.widget_page)
    await open_widget(patient)
    log = patient.get_by_role("log", name="Conversation")
    await expect(log).to_contain_text(
        "I'm an automated assistant, not a person, and I can't give medical advice."
    )
    chips = patient.get_by_role("group", name="Suggested replies")
    await chips.get_by_role("button", name="Book an appointment").click()
    await chips.get_by_role("button", name="Check-up").click()
    await chips.get_by_role("button").first.click()
    await expect(log).to_contain_text("What name should I put the booking under?")

    box = patient.get_by_role("textbox", name="Your message")
    await box.fill("wait, my dad's face is drooping and his speech is slurred")
    await box.press("Enter")
    deadline = Deadline()
    await expect(log).to_contain_text("911", timeout=deadline.ms_left)
    # Someone is signed in to the inbox right now, and the patient is told so.
    await expect(log).to_contain_text("a member of staff is online now and can see this conversation")
    await the_clinic_is_told(staff, clinic, deadline, "Web visitor", "web chat", hooks_before=0)

    await expect(staff.locator("#alert-badge")).to_have_text("1 alert")
    alerted = await staff.evaluate("window.__alerts")
    assert any(note["title"] == "Emergency (stroke)" for note in alerted["notes"]) and alerted["tones"] > 0
    # Opened from the alert, acknowledged: it leaves the alerts and keeps its badge in the list.
    alert = staff.get_by_role("list", name="Alerts").get_by_role("listitem").first
    await alert.get_by_role("button", name="Open").click()
    await expect(staff.get_by_role("log", name="Messages")).to_contain_text("his speech is slurred")
    await staff.get_by_role("button", name="Acknowledge the alert").click()
    await expect(staff.locator("#alerts")).to_be_hidden()
    await expect(staff.locator("#alert-badge")).to_be_hidden()
    conversations = staff.get_by_role("list", name="Conversations")
    await expect(conversations.get_by_text("Emergency · stroke")).to_be_visible()
    await patient_context.close()
    await staff.context.close()


async def test_an_emergency_texted_in_reaches_staff_phone_and_webhook(browser, clinic):  # noqa: F811
    staff = await staff_inbox(browser, clinic)
    patient, hooks_before = new_phone(), len(emergency_hooks(clinic.receiver))
    sms = {
        "MessageSid": new_sid(),
        "From": patient,
        "To": clinic.practice_number,
        "Body": "my mum's face is drooping on one side and her speech is slurred",
        "NumMedia": "0",
    }
    await post_signed(clinic.base_url, "/twilio/sms", sms)
    deadline = Deadline()
    await the_clinic_is_told(staff, clinic, deadline, patient, "text conversation", hooks_before)
    [answer] = await deadline.until(lambda: clinic.twilio.to(patient), "the patient's answer")
    assert "911" in answer.body and "a member of staff is online now" in answer.body
    alerted = await staff.evaluate("window.__alerts")
    assert alerted["notes"] and alerted["tones"] > 0
    await staff.context.close()


async def test_the_on_call_number_is_set_in_the_workspace_settings(browser, clinic):  # noqa: F811
    staff = await staff_inbox(browser, clinic)
    await staff.goto(f"{clinic.base_url}/app/settings")
    field = staff.get_by_label("On-call number (texted at once about emergencies)")
    await expect(field).to_have_value(clinic.on_call)
    form = staff.locator("form", has=field)
    await field.fill("617-555-0100")
    await form.get_by_role("button", name="Save").click()
    await expect(form.get_by_role("alert")).to_contain_text("E.164")
    await field.fill(clinic.on_call)
    await form.get_by_role("button", name="Save").click()
    await expect(staff.get_by_role("status")).to_contain_text("Saved")
    await staff.context.close()
