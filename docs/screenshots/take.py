"""Screenshots of the workspace on `make run`'s demo, at 1280 and 768 px wide.

Usage (with `make run` serving): .venv/bin/python docs/screenshots/take.py [http://127.0.0.1:8000]
It books a few appointments and holds a time with the demo API key, opens one web chat that asks for a person,
then signs in as the demo owner, takes that conversation over and photographs every screen.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
PATIENTS = ["Ana Lopez", "Ben Carter", "Chloe Kim", "Dev Patel", "Eva Novak", "Femi Ade"]


async def seed(api: httpx.AsyncClient) -> str:
    services = (await api.get("/api/v1/services")).json()
    day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=1)
    while day.weekday() > 4:
        day += timedelta(days=1)
    for n, service in enumerate(services):
        slots = (
            await api.get("/api/v1/availability", params={"service_id": service["id"], "from": str(day)})
        ).json()
        for i, slot in enumerate(slots["slots"][n * 2 : n * 2 + 12 : 5]):
            await api.post(
                "/api/v1/bookings",
                json={
                    "service_id": service["id"],
                    "provider_id": slot["provider_id"],
                    "starts_at": slot["starts_at"],
                    "customer": {
                        "name": PATIENTS[(n * 2 + i) % len(PATIENTS)],
                        "phone": f"+1617555{n}{i:03d}",
                    },
                },
            )
    # A time held while a patient finishes booking: the week shows it as "On hold".
    free = []
    for service in services:
        for later in range(3):
            on = str(day + timedelta(days=later))
            found = await api.get("/api/v1/availability", params={"service_id": service["id"], "from": on})
            free += [(service, slot) for slot in found.json()["slots"] if slot["local_date"] == on]
    if free:
        service, slot = free[0]
        hold = {
            "service_id": service["id"],
            "provider_id": slot["provider_id"],
            "starts_at": slot["starts_at"],
        }
        await api.post("/api/v1/holds", json=hold)
    return str(day)


async def sign_in(page: Page, password: str) -> None:
    await page.goto(f"{BASE}/app/login")
    await page.get_by_label("E-mail address").fill("owner@demo-dental.example")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/app/schedule")


async def main() -> None:
    key = (ROOT / "var" / "demo_api_key").read_text().strip()
    password = (ROOT / "var" / "demo_owner_password").read_text().strip()
    async with httpx.AsyncClient(base_url=BASE, headers={"Authorization": f"Bearer {key}"}) as api:
        day = await seed(api)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        patient = await (await browser.new_context(viewport={"width": 390, "height": 800})).new_page()
        await patient.goto(f"{BASE}/demo")
        await patient.get_by_role("button", name="Open chat").click()
        box = patient.get_by_role("textbox", name="Your message")
        await box.fill("Hi, can I talk to a person about my crown?")
        await box.press("Enter")
        await patient.wait_for_timeout(1500)
        for width in (1280, 768):
            page = await (await browser.new_context(viewport={"width": width, "height": 860})).new_page()
            await sign_in(page, password)
            shots = {
                "schedule-day": f"/app/schedule?day={day}",
                "schedule-week": f"/app/schedule?view=week&day={day}&provider=",
                "patients": "/app/patients",
                "messages": "/app/messages",
                "settings": "/app/settings",
                "faq": "/app/settings/faq",
                "connections": "/app/settings/connections",
                "audit": "/app/audit",
            }
            for name, path in shots.items():
                await page.goto(BASE + path)
                await page.wait_for_timeout(400)
                await page.screenshot(path=HERE / f"{name}-{width}.png")
            await page.goto(f"{BASE}/app/patients")
            await page.get_by_role("link", name=PATIENTS[0]).first.click()
            await page.screenshot(path=HERE / f"patient-{width}.png")
            await page.goto(f"{BASE}/app/inbox")
            await page.get_by_role("list", name="Conversations").get_by_role("button").first.click()
            if width == 1280:
                await page.get_by_role("button", name="Take over").click()
                await page.get_by_label("Your reply").fill(
                    "Hi, Dana here. Of course: what would you like to know?"
                )
                await page.get_by_role("button", name="Send", exact=True).click()
            await page.wait_for_timeout(800)
            await page.screenshot(path=HERE / f"inbox-{width}.png")
        await patient.wait_for_timeout(500)
        await patient.screenshot(path=HERE / "widget-taken-over-390.png")
        await widget_offers(browser)
        await browser.close()


async def widget_offers(browser) -> None:  # noqa: ANN001
    """The widget at phone and desktop sizes with times offered: the newest reply above the chips."""
    for width, height in ((360, 740), (1280, 800)):
        page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
        await page.goto(f"{BASE}/demo")
        await page.get_by_role("button", name="Open chat").click()
        chips = page.get_by_role("group", name="Suggested replies")
        await chips.get_by_role("button", name="Book an appointment").click()
        await chips.get_by_role("button", name="Check-up").click()
        await page.get_by_text("Which works for you?").wait_for()
        await page.wait_for_timeout(300)
        await page.screenshot(path=HERE / f"widget-offers-{width}.png")


if __name__ == "__main__":
    asyncio.run(main())
