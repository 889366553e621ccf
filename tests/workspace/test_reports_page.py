"""The Reports page: each figure as a chart drawn on the server, the table behind it, a CSV link."""

from __future__ import annotations

from tests.conftest import at, local_day
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
