"""The Reports page in real Chromium, on `frontdesk serve --demo` with bookings seeded through the API:
at a desktop (1280 px) and a tablet (768 px) width every figure's chart and table are on screen, the
page never scrolls sideways, and each CSV link downloads the numbers its table shows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.test_widget import browser  # noqa: F401 - shared fixture
from tests.e2e.test_workspace import signed_in, weekday_ahead
from tests.support.messaging import new_phone
from tests.support.reminders import book_check_up, demo_api, free_check_ups

FIGURES = ("bookings", "confirmations", "attendance", "recovered", "messages", "speed")


async def seed_bookings(live_server, count: int) -> None:
    async with demo_api(live_server) as api:
        check_up, slots = await free_check_ups(api, weekday_ahead(16))
        for n in range(count):
            await book_check_up(
                api, check_up, slots[n * 3], {"name": f"Report Seed {n}", "phone": new_phone()}
            )


async def table_rows(page: Page, figure: str) -> list[list[str]]:
    table = page.locator(f"#report-{figure} table")
    header = [c.strip() for c in await table.locator("thead th").all_inner_texts()]
    body = []
    for row in await table.locator("tbody tr").all():
        body.append([c.strip() for c in await row.locator("td").all_inner_texts()])
    return [header, *body]


def csv_rows(path: Path) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_text())))
    header = [c.replace("_", " ") for c in rows[0]]
    return [header, *[[value if value != "" else "\u2013" for value in row] for row in rows[1:]]]


@pytest.mark.parametrize("width", [1280, 768])
async def test_every_figure_is_drawn_and_readable_and_its_csv_has_the_same_numbers(
    browser,  # noqa: F811
    live_server,
    width,
):
    await seed_bookings(live_server, 2)
    page = await signed_in(browser, live_server, width)
    await page.goto(f"{live_server.base_url}/app/reports")
    await expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()

    for figure in FIGURES:
        section = page.locator(f"#report-{figure}")
        await expect(section.get_by_role("heading", level=2)).to_be_visible()
        await expect(section.locator("table")).to_be_visible()
    bookings = page.locator("#report-bookings")
    chart = bookings.get_by_role("img")
    await expect(chart).to_be_visible()
    box = await chart.bounding_box()
    assert box is not None and box["width"] >= 300 and box["x"] >= 0 and box["x"] + box["width"] <= width
    assert await bookings.locator("svg rect title").count() >= 1  # bars, drawn from the seeded bookings

    # Nothing runs off the side: neither the page nor any chart, form or table.
    sideways = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert sideways <= 0
    wider = await page.evaluate(
        """(width) => [...document.querySelectorAll('main svg, main form, main section, main table')]
             .filter(e => e.getBoundingClientRect().right > width + 0.5)
             .filter(e => !(e.tagName === 'TABLE' && getComputedStyle(e).overflowX === 'auto'))
             .map(e => e.tagName + '#' + (e.id || e.closest('section')?.id || ''))""",
        width,
    )
    assert wider == []
    # Bars stay bars (one day of data is not a wall), and axis labels never run into each other.
    assert (
        await page.evaluate(
            "Math.max(...[...document.querySelectorAll('svg.chart rect')]"
            ".map(r => r.getBoundingClientRect().width))"
        )
        <= 60
    )
    crowded = await page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')].flatMap(chart => {
             const labels = [...chart.querySelectorAll('text[font-size="10"]')]
               .map(t => t.getBoundingClientRect()).sort((a, b) => a.left - b.left);
             return labels.slice(1).filter((box, i) => box.left < labels[i].right - 0.5)
               .map(() => chart.closest('section').id);
           })"""
    )
    assert crowded == []

    for figure in FIGURES:
        shown = await table_rows(page, figure)
        async with page.expect_download() as started:
            await page.locator(f"#report-{figure}").get_by_role("link", name="CSV").click()
        download = await started.value
        assert download.suggested_filename.endswith(".csv")
        downloaded = csv_rows(Path(await download.path()))
        if shown[1:] == [["Nothing in this range."]]:
            assert downloaded == shown[:1], figure
        else:
            assert downloaded == shown, figure
    await page.context.close()
