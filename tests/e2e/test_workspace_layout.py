"""What the workspace's busiest pages look like in real Chromium at the sizes staff use, measured
from the boxes the browser lays out: the whole clinic's week, the inbox, the audit log and the
messages table, each on a clinic of its own."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.conftest import at, local_day
from tests.e2e.test_widget import PageServer, browser, open_widget, page_html  # noqa: F401 - shared fixture
from tests.e2e.test_workspace_forms import api, owner_page
from tests.support.messaging import new_phone

NY = ZoneInfo("America/New_York")
WEEKDAY_HOURS = [
    {"weekday": day, "opens_at": opens, "closes_at": closes}
    for day in ("mon", "tue", "wed", "thu", "fri")
    for opens, closes in (("09:00", "12:00"), ("13:00", "17:00"))
]


def monday_ahead(days: int) -> date:
    day = local_day(days)
    return day + timedelta(days=(7 - day.weekday()) % 7)


async def no_sideways_scroll(page: Page, selector: str = "html") -> None:
    wide = await page.evaluate(
        "s => { const e = document.querySelector(s); return [e.scrollWidth, e.clientWidth]; }", selector
    )
    assert wide[0] <= wide[1], f"{selector} scrolls sideways: {wide}"


async def test_the_whole_clinic_week_collapses_closed_days_fits_1280_and_blocks_match_their_time(
    browser,  # noqa: F811
    live_server,
):
    page, _, clinic = await owner_page(
        browser,
        live_server,
        providers=[
            {"name": "Dr. Adams", "hours": WEEKDAY_HOURS},
            {"name": "Dr. Baker", "hours": WEEKDAY_HOURS},
        ],
    )
    monday = monday_ahead(14)
    wednesday, thursday, friday, saturday, sunday = (monday + timedelta(days=n) for n in (2, 3, 4, 5, 6))
    services = {s["name"]: s["id"] for s in clinic["services"]}
    providers = {p["name"]: p["id"] for p in clinic["providers"]}
    async with api(live_server, clinic) as http:
        for service, starts, name in (("Check-up", "10:00", "Ada Short"), ("Cleaning", "14:00", "Cleo Long")):
            booked = await http.post(
                "/api/v1/bookings",
                json={
                    "service_id": services[service],
                    "provider_id": providers["Dr. Adams"],
                    "starts_at": at(monday, starts).isoformat(),
                    "customer": {"name": name, "phone": new_phone()},
                },
            )
            assert booked.status_code == 201, booked.text
        held = await http.post(
            "/api/v1/holds",
            json={
                "service_id": services["Consultation"],
                "provider_id": providers["Dr. Baker"],
                "starts_at": at(wednesday, "10:00").isoformat(),
            },
        )
        assert held.status_code == 201, held.text
        closure = {"starts_at": at(thursday, "00:00").isoformat(), "ends_at": at(friday, "00:00").isoformat()}
        closed = await http.post("/api/v1/closures", json=closure | {"reason": "Staff training"})
        assert closed.status_code == 201, closed.text

    # The toolbar's form as a person uses it: "Whole clinic" is an empty field.
    await page.goto(f"{live_server.base_url}/app/schedule?day={monday}")
    toolbar = page.locator(".toolbar")
    await toolbar.get_by_label("View").select_option("week")
    await toolbar.get_by_label("Provider").select_option(label="Whole clinic")
    await toolbar.get_by_role("button", name="Show").click()
    await expect(page.get_by_role("heading", name=f"Week of {monday:%d %B %Y}")).to_be_visible()

    for closed in (saturday, sunday):
        day = page.get_by_role("group", name=f"{closed:%A %d %B}, closed")
        await expect(day).to_contain_text("Closed")
        box = await day.bounding_box()
        assert box and box["width"] <= 80, box
    assert await page.get_by_role("region", name=re.compile(f"{saturday:%A %d %B}")).count() == 0
    training = page.get_by_role("group", name=f"{thursday:%A %d %B}, closed")
    await expect(training.locator(".closed-note")).to_have_text("Closed: Staff training")
    fri = await page.get_by_role("group", name=f"{friday:%A %d %B}", exact=True).bounding_box()
    assert fri and fri["x"] >= 0 and fri["x"] + fri["width"] <= 1280, fri
    await no_sideways_scroll(page, ".schedule")
    await no_sideways_scroll(page)

    track = (
        await page.get_by_role("region", name=f"Dr. Adams, {monday:%A %d %B}")
        .locator(".track")
        .bounding_box()
    )
    hour = track["height"] / await page.locator(".hours span").count()  # 09:00-17:00 (16:00 the last row)
    for name, starts_after, minutes in (("10:00 Ada Short", 1, 30), ("14:00 Cleo Long", 5, 60)):
        block = await page.get_by_role("button", name=re.compile(name)).bounding_box()
        assert abs(block["y"] - track["y"] - starts_after * hour) <= 1.5, (name, block, track)
        assert abs(block["height"] - minutes / 60 * hour) <= 1.5, (name, block["height"], hour)

    hold = page.get_by_role("region", name=f"Dr. Baker, {wednesday:%A %d %B}").locator(".block.hold")
    box = await hold.bounding_box()
    assert abs(box["height"] - hour / 2) <= 1.5, (box, hour)
    # Every line it shows is whole, inside the block, and the first one is not cut short.
    lines = await hold.evaluate(
        """block => { const b = block.getBoundingClientRect();
        return [...block.querySelectorAll('.line')].filter(l => l.getClientRects().length).map(l => {
          const r = l.getBoundingClientRect();
          return {text: l.innerText, inside: r.top >= b.top - 0.5 && r.bottom <= b.bottom + 0.5,
                  whole: l.scrollWidth <= l.clientWidth}; }); }"""
    )
    assert lines and all(line["inside"] for line in lines), lines
    assert lines[0] == {"text": "10:00 On hold", "inside": True, "whole": True}, lines

    # On a tablet the whole week still fits, each block's time whole if not its patient's name.
    await page.set_viewport_size({"width": 768, "height": 900})
    fri = await page.get_by_role("group", name=f"{friday:%A %d %B}", exact=True).bounding_box()
    assert fri and fri["x"] + fri["width"] <= 768, fri
    await no_sideways_scroll(page, ".schedule")
    ada = page.get_by_role("button", name=re.compile("10:00 Ada Short"))
    time_box, block_box = await ada.locator("strong").bounding_box(), await ada.bounding_box()
    assert time_box["x"] + time_box["width"] <= block_box["x"] + block_box["width"], (time_box, block_box)

    # A date typed by hand into the address is a sentence on a page, not the API's JSON.
    await page.goto(f"{live_server.base_url}/app/schedule?day=next-tuesday")
    await expect(page.get_by_role("heading", name="Can't show this")).to_be_visible()
    await expect(page.locator("body")).to_contain_text("day")
    await expect(page.locator("body")).not_to_contain_text('"error"')
    await page.context.close()


async def test_the_inbox_lists_only_chats_with_a_message_in_the_clinics_time_and_says_so_for_a_bad_link(
    browser,  # noqa: F811
    live_server,
):
    # The member of staff's computer is in Tokyo; the clinic is in New York.
    page, _, clinic = await owner_page(browser, live_server, timezone_id="Asia/Tokyo")
    site = PageServer()
    async with api(live_server, clinic) as http:
        made = await http.post(
            "/api/v1/api-keys",
            json={"kind": "publishable", "name": "site", "allowed_origins": [site.origin]},
        )
    assert made.status_code == 201, made.text
    site.html = page_html(live_server.base_url, made.json()["key"])
    patient = await (await browser.new_context(viewport={"width": 390, "height": 800})).new_page()
    try:
        await patient.goto(site.origin)
        await open_widget(patient)

        await page.goto(f"{live_server.base_url}/app/inbox")
        conversations = page.get_by_role("list", name="Conversations")
        await expect(conversations).to_contain_text("No conversations match.")
        async with api(live_server, clinic) as http:
            assert (await http.get("/api/v1/conversations")).json()["items"] == []

        box = patient.get_by_role("textbox", name="Your message")
        await box.fill("What are your opening hours?")
        await box.press("Enter")
        item = conversations.get_by_role("button", name=re.compile("Web visitor"))
        await expect(item).to_have_count(1)
        await item.click()
        async with api(live_server, clinic) as http:
            [listed] = (await http.get("/api/v1/conversations")).json()["items"]
            thread = (await http.get(f"/api/v1/conversations/{listed['id']}")).json()
        said = datetime.fromisoformat(thread["messages"][0]["at"]).astimezone(NY)
        updated = datetime.fromisoformat(listed["updated_at"]).astimezone(NY)
        first = page.get_by_role("log", name="Messages").locator(".msg.patient small").first
        await expect(first).to_have_text(f"Patient · {said:%H:%M}")
        await expect(item).to_contain_text(f"{updated:%a %d}")
        await expect(item).to_contain_text(f"{updated:%H:%M}")
    finally:
        await patient.context.close()
        site.server.shutdown()

    for link, said in (
        ("not-a-conversation", "That conversation link is incomplete or mistyped."),
        (str(uuid.uuid4()), "That conversation was not found"),
    ):
        await page.goto(f"{live_server.base_url}/app/inbox?open={link}")
        alert = page.get_by_role("region", name="Conversation").get_by_role("alert")
        await expect(alert).to_contain_text(said)
        await expect(page.locator("body")).not_to_contain_text('"error"')
    await page.context.close()


async def test_the_audit_log_names_who_and_reads_details_at_768_and_messages_show_their_actions_at_1280(
    browser,  # noqa: F811
    live_server,
):
    page, owner, clinic = await owner_page(browser, live_server, width=768)
    phone = new_phone()
    async with api(live_server, clinic) as http:
        booked = await http.post(
            "/api/v1/bookings",
            json={
                "service_id": clinic["services"][0]["id"],
                "starts_at": at(monday_ahead(10) + timedelta(days=1), "11:00").isoformat(),
                "customer": {"name": "Priya Private", "phone": phone},
            },
        )
    assert booked.status_code == 201, booked.text
    cancelled = await owner.http.post(
        f"/api/v1/bookings/{booked.json()['id']}/cancel",
        json={"reason": "clinic closed that day"},
        headers=owner.headers() | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert cancelled.status_code == 200, cancelled.text

    await page.goto(f"{live_server.base_url}/app/audit")
    table = page.get_by_role("table")
    cancel_row = table.get_by_role("row").filter(has_text="appointment.cancelled")
    await expect(cancel_row.get_by_role("cell").nth(1)).to_have_text(f"Olive Owner ({owner.email})")
    booked_row = table.get_by_role("row").filter(has_text="appointment.booked")
    await expect(booked_row.get_by_role("cell").nth(1)).to_have_text(f"API key “{clinic['api_key']['name']}”")
    details = booked_row.get_by_role("cell").nth(4)
    await expect(details).to_contain_text("customer name: [redacted]")
    await expect(details).to_contain_text("reference: ")
    text = await table.inner_text()
    for raw in ("staff:", "key:sk_", '{"', "Priya", phone):
        assert raw not in text, raw
    await no_sideways_scroll(page)
    right = await page.evaluate(
        "Math.max(...[...document.querySelectorAll('td, th')].map(c => c.getBoundingClientRect().right))"
    )
    assert right <= 768, right

    # The confirmation text waits to be sent (no worker here): it can be cancelled from its row.
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(f"{live_server.base_url}/app/messages")
    await expect(page.get_by_role("columnheader", name="Actions")).to_be_visible()
    header = await page.get_by_role("columnheader", name="Actions").bounding_box()
    cancel = await page.get_by_role("button", name="Cancel").first.bounding_box()
    assert header["x"] + header["width"] <= 1280, header
    assert header["x"] <= cancel["x"] and cancel["x"] + cancel["width"] <= header["x"] + header["width"], (
        header,
        cancel,
    )
    await no_sideways_scroll(page)
    await page.context.close()
