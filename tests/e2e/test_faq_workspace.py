"""The clinic's FAQ edited in the workspace, in real Chromium on `frontdesk serve --demo`: the demo
clinic's answers listed, one added, a clash refused with the form kept, changed, and deleted; each
through the same API a clinic's software calls, and audited under the member of staff."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.e2e.test_widget import browser  # noqa: F401 - shared fixture
from tests.e2e.test_workspace import signed_in
from tests.support.db import rows


async def faq_of(live_server) -> list[dict]:
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
        return (await api.get("/api/v1/faq")).json()


async def test_an_owner_adds_changes_and_deletes_an_faq_answer(browser, live_server, db):  # noqa: F811
    page = await signed_in(browser, live_server)
    await page.goto(f"{live_server.base_url}/app/settings")
    await page.get_by_role("link", name="FAQ", exact=True).click()
    await expect(page.get_by_role("heading", name="Questions the receptionist answers")).to_be_visible()
    # The demo clinic ships its answers: parking, insurance, prices and the rest.
    await expect(page.get_by_text("Is there parking?", exact=True)).to_be_visible()
    await expect(page.get_by_text("How much does it cost?", exact=True)).to_be_visible()

    adding = page.get_by_role("region", name="Add a question")
    await adding.get_by_label("Ways patients ask it").fill("Do you see children?\nkids dentist?")
    await adding.get_by_label("Answer").fill("Yes, from their first tooth.")
    await adding.get_by_label("Topic").select_option(label="Other")
    await adding.get_by_role("button", name="Add").click()
    entry = page.get_by_role("group").filter(has_text="Do you see children?")
    await expect(entry).to_be_visible()
    [added] = [e for e in await faq_of(live_server) if e["questions"][0] == "Do you see children?"]
    assert added["questions"] == ["Do you see children?", "kids dentist?"]
    assert added["answer"] == "Yes, from their first tooth." and added["topic"] == "other"

    # A phrasing another answer already has is refused, and what was typed stays.
    adding = page.get_by_role("region", name="Add a question")
    await adding.get_by_label("Ways patients ask it").fill("Where can I park?")
    await adding.get_by_label("Answer").fill("Out the back.")
    await adding.get_by_role("button", name="Add").click()
    await expect(adding.get_by_role("alert")).to_contain_text("already asked 'Where can I park?'")
    await expect(adding.get_by_label("Answer")).to_have_value("Out the back.")

    await entry.locator("summary").click()
    editing = page.get_by_role("form", name="Edit: Do you see children?")
    await editing.get_by_label("Answer").fill("Yes: children of every age, with a parent.")
    await editing.get_by_label("Topic").select_option(label="None")
    await editing.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved")
    [changed] = [e for e in await faq_of(live_server) if e["id"] == added["id"]]
    assert changed["answer"] == "Yes: children of every age, with a parent." and changed["topic"] is None

    await page.reload()
    entry = page.get_by_role("group").filter(has_text="Do you see children?")
    await entry.locator("summary").click()
    page.on("dialog", lambda confirm: confirm.accept())
    await entry.get_by_role("button", name="Delete").click()
    await expect(page.get_by_text("Do you see children?", exact=True)).to_be_hidden()
    assert added["id"] not in [e["id"] for e in await faq_of(live_server)]

    audit = await rows(
        db, "SELECT action, actor FROM audit_log WHERE entity_id = :e ORDER BY id", e=added["id"]
    )
    assert [a["action"] for a in audit] == ["faq.created", "faq.updated", "faq.deleted"]
    assert all(a["actor"].startswith("staff:") for a in audit)
    await page.context.close()
