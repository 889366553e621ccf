"""The CSV import in real Chromium on `frontdesk serve --demo`: a file with a bad line, its preview
showing the problem, the good lines imported, and the schedule saying where they came from."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from tests.e2e.test_widget import browser  # noqa: F401 - shared fixture
from tests.e2e.test_workspace import signed_in, weekday_ahead
from tests.support.db import rows
from tests.support.messaging import new_phone


async def test_a_csv_import_shows_a_bad_line_imports_the_good_ones_and_the_schedule_shows_their_source(
    browser,  # noqa: F811
    live_server,
    db,
):
    day = weekday_ahead(30)
    source = f"pms-{uuid.uuid4().hex[:6]}"
    ids = [f"E2E-{uuid.uuid4().hex[:6]}-{n}" for n in range(3)]
    csv_text = "\n".join(
        [
            "Appointment ID,Start,End,Provider,Patient,Mobile",
            f"{ids[0]},{day} 09:00,{day} 09:30,Dr. Maya Chen,Iris Imported,{new_phone()}",
            f"{ids[1]},{day} 09:30,{day} 09:00,Dr. Maya Chen,Ned Backwards,{new_phone()}",
            f"{ids[2]},{day} 10:00,{day} 10:45,Sam Rivera RDH,Una Unknown,{new_phone()}",
        ]
    )
    page = await signed_in(browser, live_server)
    await page.goto(f"{live_server.base_url}/app/schedule?day={day}")
    await page.get_by_role("link", name="Import appointments").click()
    await expect(page.get_by_role("heading", name="Import appointments from your own system")).to_be_visible()

    await page.get_by_label("Your system's name").fill(source)
    await page.get_by_label("CSV file").set_input_files(
        {"name": "export.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    )
    await page.get_by_role("button", name="Read the file").click()
    preview = page.get_by_role("region", name="3. Preview")
    await expect(preview.get_by_text("1 of 3 lines can be imported")).to_be_visible()
    await expect(preview.get_by_role("row", name=re.compile(ids[1]))).to_contain_text(
        "ends_at must be after starts_at"
    )
    await expect(preview.get_by_role("row", name=re.compile(ids[2]))).to_contain_text(
        "no provider 'Sam Rivera RDH'"
    )
    # The columns were guessed from the headings; the provider column is the one to check.
    columns = page.get_by_role("region", name="2. Columns")
    await expect(columns.get_by_label("Provider", exact=True)).to_have_value("Provider")

    await preview.get_by_role("button", name="Import 1 appointment").click()
    done = page.get_by_role("region", name="Imported")
    await expect(done).to_contain_text("1 created, 2 left out")
    await expect(done).to_contain_text("Line 3:")

    await done.get_by_role("link", name="Back to the schedule").click()
    await page.goto(f"{live_server.base_url}/app/schedule?day={day}")
    block = page.get_by_role("button", name=re.compile("09:00 Iris Imported"))
    await expect(block).to_contain_text(f"from {source}")
    await block.click()
    details = page.get_by_role("dialog", name=re.compile("Iris Imported"))
    await expect(details).to_contain_text(f"from {source}")

    stored = await rows(
        db, "SELECT external_id, source FROM appointments WHERE source = :s ORDER BY external_id", s=source
    )
    assert stored == [{"external_id": ids[0], "source": source}]
    await page.context.close()
