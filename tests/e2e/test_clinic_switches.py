"""A clinic's switch in real Chromium on `frontdesk serve --demo`: the owner turns "Patients may
cancel" off in the workspace settings, and the chat widget on the clinic's page stops offering
Cancel, saying how to cancel instead."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.test_widget import browser, open_widget  # noqa: F401 - shared fixture
from tests.e2e.test_workspace import signed_in
from tests.support.db import rows


async def widget_menu(browser: Browser, base_url: str):  # noqa: F811
    """A new visitor's widget on the demo page, opened: its context and its suggested replies."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base_url}/demo")
    await open_widget(page)
    chips = page.get_by_role("group", name="Suggested replies")
    await expect(chips.get_by_role("button", name="Opening hours")).to_be_visible()
    return context, page, chips


async def test_turning_cancelling_off_removes_the_cancel_chip(browser, live_server, db):  # noqa: F811
    context, _, chips = await widget_menu(browser, live_server.base_url)
    await expect(chips.get_by_role("button", name="Cancel", exact=True)).to_be_visible()
    await context.close()

    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    try:
        page = await signed_in(browser, live_server)
        await page.goto(f"{live_server.base_url}/app/settings")
        await page.get_by_role("link", name="Receptionist", exact=True).click()
        switch = page.get_by_role("checkbox", name="Patients may cancel")
        await expect(switch).to_be_checked()
        await switch.uncheck()
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_contain_text("Saved")
        await page.reload()
        await expect(page.get_by_role("checkbox", name="Patients may cancel")).not_to_be_checked()
        await page.context.close()

        context, page, chips = await widget_menu(browser, live_server.base_url)
        await expect(chips.get_by_role("button", name="Reschedule", exact=True)).to_be_visible()
        await expect(chips.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
        await expect(page.get_by_role("log", name="Conversation")).to_contain_text("To cancel, please")
        await context.close()
    finally:
        async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
            restored = await api.patch(
                "/api/v1/tenant/settings", json={"settings": {"patients_may_cancel": True}}
            )
            assert restored.status_code == 200

    changes = await rows(
        db,
        "SELECT actor, details FROM audit_log WHERE action = 'tenant.settings_changed' "
        "AND details->'changed' ? 'patients_may_cancel' ORDER BY id",
    )
    assert changes[0]["actor"].startswith("staff:")
