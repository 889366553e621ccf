"""What a patient sees in the widget, in real Chromium on the demo page: the newest message in view
after every reply at phone and desktop sizes, the keyboard's focus after a chip, booking cards that
say what changed, and a message typed while the connection is down."""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.test_widget import _weekday_ahead, browser, open_widget  # noqa: F401 - shared fixtures

NEWEST_IN_VIEW = """log => {
  if (!log.lastElementChild) return false;
  const room = log.getBoundingClientRect(), newest = log.lastElementChild.getBoundingClientRect();
  return newest.top >= room.top - 0.5 && newest.bottom <= room.bottom + 0.5;
}"""


async def newest_is_in_view(page: Page, log: Locator) -> None:
    """The log's newest element lies wholly inside the log's visible area, on screen."""
    await page.wait_for_function(NEWEST_IN_VIEW, arg=await log.element_handle())
    room = await log.bounding_box()
    newest = await log.locator(":scope > *").last.bounding_box()
    assert room is not None and newest is not None
    assert room["y"] - 0.5 <= newest["y"]
    assert newest["y"] + newest["height"] <= room["y"] + room["height"] + 0.5
    viewport = page.viewport_size
    assert viewport is not None and room["y"] + room["height"] <= viewport["height"]


@pytest.mark.parametrize("size", [(360, 740), (1280, 800)], ids=["phone", "desktop"])
async def test_the_newest_message_is_in_view_after_every_reply_and_a_chip_gives_back_the_keyboard(
    browser,  # noqa: F811
    live_server,
    size,
):
    context = await browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await open_widget(page)
    log = page.get_by_role("log", name="Conversation")
    chips = page.get_by_role("group", name="Suggested replies")
    box = page.get_by_role("textbox", name="Your message")
    await newest_is_in_view(page, log)

    async def tap(name: str, reply: str) -> None:
        await chips.get_by_role("button", name=name, exact=True).click()
        await expect(log.get_by_text(reply).last).to_be_attached()
        await expect(box).to_be_focused()
        await newest_is_in_view(page, log)

    async def say(text: str, reply: str) -> None:
        await box.fill(text)
        await box.press("Enter")
        await expect(log.get_by_text(reply).last).to_be_attached()
        await newest_is_in_view(page, log)

    await tap("Book an appointment", "Which service would you like to book?")
    await tap("Check-up", "Which works for you?")
    times = chips.get_by_role("button").filter(has_not_text="More times")
    await tap(await times.first.inner_text(), "What name should I put the booking under?")
    await say("Vera Viewport", "best phone number or e-mail")
    await say("vera.viewport@example.com", "Shall I book it?")
    await tap("Yes, book it", "You're booked!")
    await expect(log.locator(":scope > *").last).to_have_attribute("role", "group")  # the card is newest
    await say("what are your opening hours?", "Mon-Fri")
    await context.close()


async def test_a_moved_booking_gets_a_card_saying_so_and_the_earlier_card_says_it_changed(
    browser,  # noqa: F811
    live_server,
):
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await open_widget(page)
    log = page.get_by_role("log", name="Conversation")
    box = page.get_by_role("textbox", name="Your message")

    async def say(text: str, expected: str) -> None:
        await box.fill(text)
        await box.press("Enter")
        await expect(log.get_by_text(expected).last).to_be_visible()

    day = _weekday_ahead(13)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10 if day.day not in (11, 12, 13) else 0, "th")
    await say(f"a scale and polish on the {day.day}{suffix} at 10am", "I'm holding")
    await say("Carla Cards", "best phone number or e-mail")
    await say("617-555-0143", "Shall I book it?")
    await say("yes please", "You're booked!")
    booked = page.get_by_role("group", name="Appointment booked")
    await expect(booked).to_contain_text("10:00 AM")

    await say("can I move it to the same day at half past two?", "Shall I move")
    await say("yes", "Done!")
    moved = page.get_by_role("group", name="Appointment moved")
    await expect(moved).to_contain_text("2:30 PM")
    await expect(moved.locator("dd.was")).to_contain_text("10:00 AM")
    earlier = log.locator(".card").first
    await expect(earlier.locator("h3")).to_have_text(f"Moved to {day:%a, %b} {day.day} at 2:30 PM")
    await expect(booked).to_have_count(0)  # nothing on screen still says the old time is booked

    await say("please cancel my appointment", "Reply yes to cancel")
    await say("yes", "is cancelled")
    await expect(page.get_by_role("group", name="Appointment cancelled")).to_contain_text("2:30 PM")
    await expect(moved.locator("h3")).to_have_count(0)  # the moved card no longer claims to hold
    await expect(log.locator(".card[data-changed]")).to_have_count(2)

    # A reload rebuilds the same cards from the stored conversation.
    await page.reload()
    await open_widget(page)
    await expect(log.locator(".card[data-changed]")).to_have_count(2)
    await expect(page.get_by_role("group", name="Appointment cancelled")).to_be_visible()
    await context.close()


async def test_a_message_typed_while_disconnected_is_kept_says_so_and_goes_on_reconnecting(
    browser,  # noqa: F811
    live_server,
):
    context = await browser.new_context(viewport={"width": 360, "height": 740})
    page = await context.new_page()
    await page.goto(f"{live_server.base_url}/demo")
    await open_widget(page)
    log = page.get_by_role("log", name="Conversation")
    box = page.get_by_role("textbox", name="Your message")

    await context.set_offline(True)
    await expect(page.get_by_role("status")).to_have_text("Reconnecting…")
    await box.fill("what are your opening hours?")
    await box.press("Enter")
    await expect(log.get_by_text("Not sent yet: waiting for the connection")).to_be_visible()
    await expect(box).to_have_value("")
    await newest_is_in_view(page, log)

    await context.set_offline(False)
    await expect(page.get_by_role("status")).to_have_text("Online", timeout=30_000)
    await expect(log).to_contain_text("Mon-Fri")
    await expect(log.get_by_text("Not sent yet")).to_have_count(0)
    await expect(log.get_by_text("what are your opening hours?")).to_have_count(1)
    await context.close()
