"""Availability across New York's DST changes through the API; the demo tenant `make run` seeds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx

from backend.tenants.demo import DEMO_SLUG, seed
from tests.conftest import at, iso
from tests.support.db import scalar

SPRING_FORWARD = date(2027, 3, 14)
FALL_BACK = date(2027, 11, 7)


def night_clinic(day: date) -> dict:
    """Open 00:30-04:00 on the day of a DST change: the hours the change happens in."""
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    return {
        "providers": [
            {"name": "Night Desk", "hours": [{"weekday": weekday, "opens_at": "00:30", "closes_at": "04:00"}]}
        ],
        "services": [{"name": "Visit", "duration_minutes": 30}],
        "settings": {"min_lead_minutes": 0, "max_days_ahead": 730, "slot_step_minutes": 30},
    }


async def slots(client, tenant, day):
    response = await client.get(
        "/api/v1/availability",
        params={"service_id": tenant.services["Visit"], "from": day.isoformat()},
        headers=tenant.auth,
    )
    assert response.status_code == 200, response.text
    return response.json()["slots"]


async def test_spring_forward_skips_times_that_do_not_exist(client, make_tenant):
    tenant = await make_tenant(**night_clinic(SPRING_FORWARD))
    offered = await slots(client, tenant, SPRING_FORWARD)
    assert [s["local_time"] for s in offered] == ["00:30", "01:00", "01:30", "03:00", "03:30"]
    assert offered[2]["starts_at"] == "2027-03-14T01:30:00-05:00"
    assert offered[3]["starts_at"] == "2027-03-14T03:00:00-04:00"
    # "02:30-05:00" names a real instant, 07:30 UTC, which New York calls 03:30 EDT: booked as such
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Visit"],
            "starts_at": "2027-03-14T02:30:00-05:00",
            "customer": {"name": "N", "email": "n@example.com"},
        },
        headers=tenant.auth,
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["starts_at"] == "2027-03-14T03:30:00-04:00"
    assert "03:30" not in [s["local_time"] for s in await slots(client, tenant, SPRING_FORWARD)]


async def test_fall_back_offers_the_repeated_hour_once_and_books_it_exactly(client, make_tenant, db):
    tenant = await make_tenant(**night_clinic(FALL_BACK))
    offered = await slots(client, tenant, FALL_BACK)
    assert [s["local_time"] for s in offered] == [
        "00:30",
        "01:00",
        "01:30",
        "02:00",
        "02:30",
        "03:00",
        "03:30",
    ]
    assert len({s["starts_at"] for s in offered}) == len(offered)
    first_half_past_one = offered[2]["starts_at"]
    assert first_half_past_one == "2027-11-07T01:30:00-04:00"  # the first 01:30 (EDT)

    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Visit"],
            "starts_at": first_half_past_one,
            "customer": {"name": "N", "email": "n@example.com"},
        },
        headers=tenant.auth,
    )
    assert booked.status_code == 201, booked.text
    stored = await scalar(db, "SELECT starts_at FROM appointments WHERE id = :i", i=booked.json()["id"])
    assert stored == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
    # the second 01:30 (EST) is a different instant an hour later, outside what was offered but free
    assert "01:30" not in [s["local_time"] for s in await slots(client, tenant, FALL_BACK)]


async def test_business_hours_follow_the_wall_clock_across_the_change(client, make_tenant):
    tenant = await make_tenant(services=[{"name": "Visit", "duration_minutes": 30}])
    before = await slots(client, tenant, date(2027, 3, 13))
    after = await slots(client, tenant, date(2027, 3, 15))
    assert before[0]["starts_at"] == iso(at(date(2027, 3, 13), "09:00")) == "2027-03-13T09:00:00-05:00"
    assert after[0]["starts_at"] == "2027-03-15T09:00:00-04:00"


async def test_demo_seed_is_created_once_and_its_keys_are_kept(db):
    origins = ["http://127.0.0.1:8000"]
    first = await seed(db, "", "", origins, "a demo password")
    again = await seed(db, first.api_key, first.widget_key, origins, "a demo password")
    assert again.created is False and again.api_key == first.api_key and again.widget_key == first.widget_key
    assert first.widget_key.startswith("pk_live_")
    assert await scalar(db, "SELECT count(*) FROM tenants WHERE slug = :s", s=DEMO_SLUG) == 1
    replaced = await seed(db, "sk_live_lost", first.widget_key, ["http://127.0.0.1:9999"], "a demo password")
    assert replaced.api_key != first.api_key and replaced.api_key.startswith("sk_live_")
    # A widget key that does not allow where the demo page is served now is replaced too.
    assert replaced.widget_key != first.widget_key
    assert await scalar(db, "SELECT count(*) FROM tenants WHERE slug = :s", s=DEMO_SLUG) == 1
    owners = "SELECT count(*) FROM staff_users WHERE email = 'owner@demo-dental.example' AND role = 'owner'"
    assert await scalar(db, owners) == 1


async def test_serve_demo_prints_a_working_key_for_the_dental_clinic(live_server):
    output = live_server.output.read_text()
    assert f"API key:     {live_server.demo_key}" in output
    assert f"sign in as {live_server.owner_email}" in output
    async with httpx.AsyncClient(base_url=live_server.base_url) as http:
        headers = {"Authorization": f"Bearer {live_server.demo_key}"}
        tenant = (await http.get("/api/v1/tenant", headers=headers)).json()
        assert tenant["timezone"] == "America/New_York" and tenant["profile"] == "healthcare"
        services = (await http.get("/api/v1/services", headers=headers)).json()
        assert sorted(s["duration_minutes"] for s in services) == [30, 60, 90]
        providers = (await http.get("/api/v1/providers", headers=headers)).json()
        assert len(providers) == 2
        monday = [h for h in providers[0]["hours"] if h["weekday"] == "mon"]
        assert [(h["opens_at"], h["closes_at"]) for h in monday] == [
            ("09:00:00", "12:00:00"),
            ("13:00:00", "17:00:00"),
        ]
        assert not [h for h in providers[0]["hours"] if h["weekday"] in ("sat", "sun")]
        assert (await http.get("/docs")).status_code == 200
        assert (await http.get("/health")).json() == {"status": "ok"}
        ready = (await http.get("/ready")).json()
        assert ready == {"status": "ready", "database": "ok", "redis": "ok", "migrations": "ok"}
