"""A caller asks to continue in writing: the texted link opens the widget on the call's conversation."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import httpx
from playwright.async_api import expect
from twilio.request_validator import RequestValidator

from tests.e2e.test_widget import browser  # noqa: F401 - the shared Chromium fixture
from tests.fakes.twilio_server import AUTH_TOKEN
from tests.support.db import rows
from tests.support.messaging import new_phone
from tests.support.phone import new_sid


async def post_signed(base_url: str, path: str, params: dict[str, str]) -> str:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(base_url + path, params)
    async with httpx.AsyncClient() as http:
        response = await http.post(base_url + path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return " ".join(say.text or "" for say in ElementTree.fromstring(response.text).iter("Say"))


async def test_text_me_a_link_continues_the_call_in_the_widget_with_its_history(
    live_server,
    browser,  # noqa: F811
    db,
):
    api = live_server.base_url
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient() as http:
        added = await http.post(
            f"{api}/api/v1/phone-numbers", headers=auth, json={"number": new_phone("646")}
        )
    assert added.status_code == 201, added.text
    call = {"CallSid": new_sid("CA"), "From": new_phone(), "To": added.json()["number"]}

    assert "Thanks for calling" in await post_signed(api, "/twilio/voice", call)
    offered = await post_signed(
        api, "/twilio/voice/turn?step=1", call | {"SpeechResult": "I'd like a check-up"}
    )
    first_time = re.search(r"[Oo]ption one, (.+?)[;.]", offered)
    assert first_time, offered
    sent = await post_signed(
        api, "/twilio/voice/turn?step=2", call | {"SpeechResult": "Can you text me a link?"}
    )
    assert "I've sent you a text" in sent

    [text] = await rows(
        db,
        "SELECT body, recipient, sender, urgent FROM notification_outbox WHERE kind = 'handoff_link' "
        "AND recipient = :r",
        r=call["From"],
    )
    assert text["sender"] == call["To"] and text["urgent"]
    link = re.search(r"(http://\S+/h/hf_\S+)", text["body"]).group(1)

    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    await page.goto(link)
    log = page.get_by_role("log", name="Conversation")
    # The call so far, in writing: what the caller said and what they were offered.
    await expect(log).to_contain_text("I'd like a check-up")
    await expect(log).to_contain_text("Here are the first free times")
    await expect(log).to_contain_text("Can you text me a link?")

    box = page.get_by_role("textbox", name="Your message")
    await box.fill("1")  # the first time read out on the phone
    await box.press("Enter")
    await expect(log).to_contain_text("I'm holding")
    await box.fill("Jane Doe")
    await box.press("Enter")
    # Still the caller's phone: the receptionist does not ask for a number.
    await expect(log).to_contain_text("Shall I book it?")
    await (
        page.get_by_role("group", name="Suggested replies").get_by_role("button", name="Yes, book it").click()
    )
    await expect(log).to_contain_text("You're booked!")
    [booked] = await rows(
        db,
        "SELECT c.phone FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE c.phone = :p AND a.status = 'booked'",
        p=call["From"],
    )
    assert booked["phone"] == call["From"]

    tampered = await context.new_page()
    response = await tampered.goto(link[:-3] + "abc")
    assert response is not None and response.status == 410
    await expect(tampered.get_by_role("heading")).to_have_text("This link can't be used")
    await context.close()
