"""The API reference renders in Chromium with every host but this machine blocked: Swagger UI and
ReDoc come from this server, not a CDN."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.async_api import Route, expect

from tests.e2e.test_widget import browser  # noqa: F401 - shared fixture

LOCAL = {"127.0.0.1", "localhost"}


async def offline_page(browser):  # noqa: F811
    """A page that reaches only this machine; what it tried to fetch elsewhere is kept."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.blocked = []  # type: ignore[attr-defined]

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL:
            await route.continue_()
        else:
            page.blocked.append(route.request.url)  # type: ignore[attr-defined]
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)
    return page


async def test_docs_render_with_the_network_blocked(browser, live_server):  # noqa: F811
    page = await offline_page(browser)
    failed = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    await page.goto(f"{live_server.base_url}/docs")
    await expect(page.get_by_role("heading", name="Frontdesk")).to_be_visible()
    bookings = page.locator(".opblock-summary-path").filter(has_text="/api/v1/bookings").first
    await expect(bookings).to_be_visible()
    await bookings.click()
    await expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    assert page.blocked == [] and failed == []  # type: ignore[attr-defined]
    await page.context.close()


async def test_redoc_renders_with_the_network_blocked(browser, live_server):  # noqa: F811
    page = await offline_page(browser)
    await page.goto(f"{live_server.base_url}/redoc")
    title = page.get_by_role("heading", name=re.compile(r"^Frontdesk")).first
    await expect(title).to_be_visible(timeout=20_000)
    await expect(page.get_by_text("/api/v1/bookings").first).to_be_attached()
    await expect(page.get_by_role("menuitem", name="bookings", exact=True)).to_be_visible()
    assert page.blocked == []  # type: ignore[attr-defined]
    await page.context.close()
