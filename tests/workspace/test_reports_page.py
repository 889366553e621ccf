"""The Reports page: each figure as a chart drawn on the server, the table behind it, a CSV link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import at, local_day
from tests.support.db import scalar
from tests.support.workspace import new_clinic


async def test_the_reports_page_draws_a_chart_and_its_table_for_each_figure(client):
    owner = await new_clinic(client)
    auth = {"Authorization": f"Bearer {owner.api_key}"}
    services = (await client.get("/api/v1/services", headers=auth)).json()
    check_up = next(s for s in services if s["name"] == "Check-up")
    booked = await client.post(
        "/api/v1/bookings",
        headers=auth,
        json={
            "service_id": check_up["id"],
            "starts_at": at(local_day(3), "10:00").isoformat(),
            "customer": {"name": "Ann Lee", "phone": "+16175550123"},
        },
    )
    assert booked.status_code == 201, booked.text

    page = await owner.http.get("/app/reports")
    assert page.status_code == 200
    html = page.text
    for title in (
        "Bookings per day",
        "No-shows and late cancellations",
        "Messages per day",
        "Slots recovered",
    ):
        assert title in html
    assert html.count('role="img"') >= 1 and "<title>" in html and "api: 1" in html
    assert "/api/v1/reports/bookings?" in html and "format=csv" in html

    csv = await owner.http.get("/api/v1/reports/bookings", params={"format": "csv"})
    assert csv.status_code == 200 and csv.text.splitlines()[0] == "day,channel,finished_by,bookings"
    assert csv.text.splitlines()[1].endswith(",api,other,1")


async def test_the_schedule_marks_confirmed_visits_and_lists_the_unconfirmed_ones_due_soon(db, client):
    owner = await new_clinic(client)
    auth = {"Authorization": f"Bearer {owner.api_key}"}
    services = (await client.get("/api/v1/services", headers=auth)).json()
    check_up = next(s for s in services if s["name"] == "Check-up")
    booked = await client.post(
        "/api/v1/bookings",
        headers=auth,
        json={
            "service_id": check_up["id"],
            "starts_at": at(local_day(2), "10:00").isoformat(),
            "customer": {"name": "Bo Unconfirmed", "phone": "+16175550124"},
        },
    )
    assert booked.status_code == 201, booked.text
    # Three hours from now (whatever the clinic's hours are now): due soon, not confirmed.
    await scalar(
        db,
        "UPDATE appointments SET starts_at = :at, ends_at = CAST(:at AS timestamptz) + interval '30 min',"
        " blocked_until = CAST(:at AS timestamptz) + interval '30 min' WHERE id = :id RETURNING 1",
        at=datetime.now(UTC) + timedelta(hours=3),
        id=booked.json()["id"],
    )
    page = await owner.http.get("/app/schedule")
    listed = page.text.split('id="not-confirmed"', 1)[1]
    assert "Bo Unconfirmed" in listed and "+16175550124" in listed
    assert booked.json()["confirmed_at"] is None and booked.json()["booked_via"] == "api"

    await scalar(
        db,
        "UPDATE appointments SET status = 'confirmed', confirmed_via = 'sms', confirmed_at = now()"
        " WHERE id = :id RETURNING 1",
        id=booked.json()["id"],
    )
    day = (datetime.now(UTC) + timedelta(hours=3)).astimezone(ZoneInfo("America/New_York")).date()
    page = await owner.http.get("/app/schedule", params={"day": day.isoformat()})
    assert 'aria-label="confirmed by sms"' in page.text
    assert "Bo Unconfirmed" not in page.text.split('id="not-confirmed"', 1)[1]
