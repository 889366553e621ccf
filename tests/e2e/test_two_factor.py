"""Two-factor sign-in in real Chromium on `frontdesk serve`: a new owner sets it up from the QR
page, sees their recovery codes once, signs out, and signs in again with a code from the app
(computed here with pyotp from the key the page shows)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
from playwright.async_api import expect

from tests.conftest import ADMIN_SECRET, tenant_spec
from tests.e2e.test_widget import browser  # noqa: F401 - shared fixture
from tests.support.workspace import PASSWORD, open_mail


async def test_an_owner_sets_up_two_factor_and_signs_in_with_a_code(browser, live_server, db, settings):  # noqa: F811
    email = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    async with httpx.AsyncClient(base_url=live_server.base_url) as admin:
        made = await admin.post(
            "/api/v1/tenants",
            json=tenant_spec() | {"owner": {"email": email, "name": "Tess Totp"}},
            headers={"X-Admin-Secret": ADMIN_SECRET},
        )
    assert made.status_code == 201, made.text
    link = re.search(r"(http\S+/app/invite/\S+)", await open_mail(db, settings, email)).group(1)

    page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await page.goto(link)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Save and sign in").click()
    await expect(page.get_by_role("link", name="Schedule")).to_have_attribute("aria-current", "page")

    await page.locator("details.me summary").click()
    await page.get_by_role("button", name="Two-factor sign-in").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    await expect(qr).to_be_visible()
    assert (await qr.evaluate("img => img.naturalWidth")) > 0, "the QR code is drawn by the server"
    totp = pyotp.TOTP((await page.locator("#totp-secret").text_content() or "").strip())
    await page.get_by_label("Code", exact=True).fill(totp.now())
    await page.get_by_role("button", name="Turn on").click()
    codes = page.locator("#recovery-codes")
    await expect(codes).to_have_text(re.compile(r"^([a-z2-9]{5}-[a-z2-9]{5}\n){9}[a-z2-9]{5}-[a-z2-9]{5}$"))

    await page.locator("details.me summary").click()
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page.get_by_role("heading", name="Sign in to Frontdesk")).to_be_visible()
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    await page.get_by_label("Code", exact=True).fill("000000" if totp.now() != "000000" else "111111")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong or already used code")
    # The code enrolment used is spent: the app's next one (accepted a step early) signs in.
    await page.get_by_label("Code", exact=True).fill(totp.at(datetime.now(UTC) + timedelta(seconds=30)))
    await page.get_by_role("button", name="Sign in").click()
    # Signed in, on whichever workspace page the sign-in was for (the page that signed out reloads).
    await expect(page.locator("details.me summary")).to_contain_text("Tess Totp")
    await expect(page.get_by_role("link", name="Schedule")).to_be_visible()
