"""Google Calendar through Google's own client library, against a local fake of Google's OAuth and
Calendar API v3: connecting with PKCE, token refresh, incremental sync and the 410 resync, push
notifications, and writes retried on the 30/120/480 s schedule, then escalated."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from backend.calendars import connections
from backend.calendars.push import CalendarPusher
from backend.calendars.remote import RemoteCalendar
from backend.calendars.sync import CalendarSync
from backend.core.context import Caller
from backend.core.db import Database
from backend.core.settings import Settings
from backend.tenants import service as tenants
from tests.calendars.conftest import book_check_up, free_times
from tests.conftest import ADMIN_SECRET, TenantHandle, at, in_process_app, local_day, tenant_spec
from tests.fakes import google_calendar_server as google_fake
from tests.fakes.google_calendar_server import ACCOUNT, FakeGoogle
from tests.support.workspace import new_clinic


@pytest.fixture
async def google() -> AsyncIterator[FakeGoogle]:
    async with google_fake.running() as fake:
        fake.calendars[ACCOUNT] = {}
        yield fake


@pytest.fixture
def google_settings(settings: Settings, google: FakeGoogle) -> Settings:
    return settings.model_copy(
        update={
            "google_client_id": google_fake.CLIENT_ID,
            "google_client_secret": SecretStr(google_fake.CLIENT_SECRET),
            "google_auth_url": f"{google.base_url}/auth",
            "google_token_url": google.token_url,
            "google_revoke_url": f"{google.base_url}/revoke",
            "google_calendar_api_url": f"{google.base_url}/calendar/v3/",
            "google_push_notifications": True,
        }
    )


@pytest.fixture
async def app_client(google_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_app(google_settings) as c:
        yield c


def timed(event_id: str, day, start: str, end: str, **extra) -> dict:
    return {
        "id": event_id,
        "start": {"dateTime": at(day, start).isoformat(), "timeZone": "America/New_York"},
        "end": {"dateTime": at(day, end).isoformat(), "timeZone": "America/New_York"},
        **extra,
    }


async def _tenant(client: httpx.AsyncClient) -> TenantHandle:
    body = tenant_spec(settings={"min_lead_minutes": 0, "alert_email": "ops@clinic.example"})
    made = (await client.post("/api/v1/tenants", json=body, headers={"X-Admin-Secret": ADMIN_SECRET})).json()
    return TenantHandle(
        id=made["tenant"]["id"],
        slug=made["tenant"]["slug"],
        key=made["api_key"]["key"],
        providers={p["name"]: p["id"] for p in made["providers"]},
        services={s["name"]: s["id"] for s in made["services"]},
        body=body,
    )


async def _connected(
    db: Database, google_settings: Settings, google: FakeGoogle, tenant: TenantHandle
) -> str:
    """A Google connection as the consent flow leaves it (the flow itself is tested below)."""

    async def work(session) -> str:
        context = await tenants.get_context(session, uuid.UUID(tenant.id))
        new = connections.NewConnection(
            provider_id=uuid.UUID(tenant.providers["Dr. Adams"]),
            kind="google",
            account=ACCOUNT,
            secret=google.grant(),
            calendars=[RemoteCalendar(ACCOUNT, "Dr. Adams", primary=True)],
        )
        made = await connections.connect(
            session, Caller(context, "test", "test"), google_settings.key_ring, new, datetime.now(UTC)
        )
        return str(made.id)

    return await db.transaction(work)


async def test_connecting_google_in_the_workspace_uses_state_and_pkce_and_lists_the_calendars(
    app_client, google
):
    owner = await new_clinic(app_client)
    providers = (await owner.http.get("/api/v1/providers")).json()
    started = await owner.http.get(f"/app/calendars/google/start?provider_id={providers[0]['id']}")
    assert started.status_code == 303
    consent = started.headers["location"]
    assert consent.startswith(f"{google.base_url}/auth?") and "code_challenge=" in consent
    assert "access_type=offline" in consent and "include_granted_scopes=true" in consent
    async with httpx.AsyncClient() as browser:
        answered = await browser.get(consent)
    back = urlsplit(answered.headers["location"])
    assert back.path == "/app/calendars/google/callback"

    forged = await owner.http.get(f"{back.path}?code=abc&state=not-the-state")
    assert forged.status_code == 422
    done = await owner.http.get(f"{back.path}?{back.query}")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/app/calendars?connected=google"

    listed = (await owner.http.get("/api/v1/calendar-connections")).json()
    assert [(c["kind"], c["account"]) for c in listed] == [("google", ACCOUNT)]
    assert listed[0]["calendars"][0]["receives_bookings"]
    page = await owner.http.get("/app/calendars")
    assert ACCOUNT in page.text and "Connect Google Calendar" in page.text
    replayed = await owner.http.get(f"{back.path}?{back.query}")
    assert replayed.status_code == 422, "a code is good once"

    disconnected = await owner.http.delete(
        f"/api/v1/calendar-connections/{listed[0]['id']}", headers=owner.headers()
    )
    assert disconnected.status_code == 204
    assert google.revoked and not google.refresh_tokens


async def test_incremental_sync_uses_the_sync_token_and_a_410_reads_everything_again(
    app_client, db, google_settings, google
):
    tenant = await _tenant(app_client)
    connection_id = await _connected(db, google_settings, google, tenant)
    sync = CalendarSync(db, google_settings)
    day = local_day(4)
    google.put(ACCOUNT, timed("meeting", day, "10:00", "11:00"))
    google.put(ACCOUNT, timed("optional", day, "13:00", "14:00", transparency="transparent"))
    google.put(
        ACCOUNT,
        timed(
            "declined",
            day,
            "15:00",
            "16:00",
            attendees=[{"email": ACCOUNT, "self": True, "responseStatus": "declined"}],
        ),
    )
    await sync.sync_connection(uuid.UUID(connection_id), datetime.now(UTC))
    assert google.refreshes == 1, "the access token comes from the stored refresh token"
    assert "timeMin" in google.list_requests[-1] and "syncToken" not in google.list_requests[-1]
    times = await free_times(app_client, tenant, day)
    assert "10:00" not in times and "10:30" not in times
    assert "13:00" in times and "15:00" in times, "free and declined events do not block"

    google.put(ACCOUNT, timed("late", day, "16:00", "17:00"))
    google.remove(ACCOUNT, "meeting")
    await sync.sync_connection(uuid.UUID(connection_id), datetime.now(UTC))
    assert google.list_requests[-1]["syncToken"].startswith("s")
    times = await free_times(app_client, tenant, day)
    assert "10:00" in times and "16:00" not in times

    google.expired_tokens.add(google.list_requests[-1]["syncToken"])
    google.expired_tokens.add(f"s{max(google.versions[ACCOUNT].values())}")
    google.remove(ACCOUNT, "late")
    await sync.sync_connection(uuid.UUID(connection_id), datetime.now(UTC))
    assert "timeMin" in google.list_requests[-1], "after a 410 the calendar is read in full"
    assert "16:00" in await free_times(app_client, tenant, day)


async def test_a_push_notification_makes_the_next_sweep_read_the_calendar(
    app_client, db, google_settings, google
):
    tenant = await _tenant(app_client)
    connection_id = await _connected(db, google_settings, google, tenant)
    sync = CalendarSync(db, google_settings)
    await sync.sync_connection(uuid.UUID(connection_id), datetime.now(UTC))
    assert len(google.watches) == 1
    channel = google.watches[0]
    assert channel["address"].endswith("/calendars/google/notifications")

    day = local_day(3)
    google.put(ACCOUNT, timed("new", day, "09:00", "10:00"))
    await sync.sync_due(datetime.now(UTC))
    assert "09:00" in await free_times(app_client, tenant, day), (
        "read just now: not due without a notification"
    )
    forged = await app_client.post(
        "/calendars/google/notifications",
        headers={
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Token": "guess",
            "X-Goog-Resource-State": "exists",
        },
    )
    assert forged.status_code == 403
    notified = await app_client.post(
        "/calendars/google/notifications",
        headers={
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Channel-Token": channel["token"],
            "X-Goog-Resource-State": "exists",
        },
    )
    assert notified.status_code == 200
    assert await sync.sync_due(datetime.now(UTC)) >= 1
    assert "09:00" not in await free_times(app_client, tenant, day)

    gone = await app_client.delete(f"/api/v1/calendar-connections/{connection_id}", headers=tenant.auth)
    assert gone.status_code == 204
    assert google.stopped == [channel["id"]] and google.revoked


async def test_a_failing_write_is_retried_at_30_120_480_seconds_then_staff_are_told(
    app_client, db, google_settings, google
):
    tenant = await _tenant(app_client)
    await _connected(db, google_settings, google, tenant)
    pusher = CalendarPusher(db, google_settings)
    booked = await book_check_up(app_client, tenant, at(local_day(5), "11:00"))
    assert booked.status_code == 201
    appointment_id = booked.json()["id"]
    google.fail_next = [503] * 10
    start = datetime.now(UTC)

    async def attempts() -> tuple[int, str]:
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT attempts, state FROM calendar_pushes WHERE appointment_id = :a"),
                    {"a": appointment_id},
                )
            ).one()
        return row.attempts, row.state

    assert await pusher.push_due(start) == 1
    assert await attempts() == (1, "pending")
    for wait, expected in ((30, (2, "pending")), (150, (3, "pending")), (630, (4, "failed"))):
        assert await pusher.push_due(start + timedelta(seconds=wait - 1)) == 0, f"retried before {wait} s"
        assert await pusher.push_due(start + timedelta(seconds=wait)) == 1
        assert await attempts() == expected
    async with db.engine.connect() as conn:
        failed = (
            await conn.execute(
                text("SELECT data FROM domain_events WHERE tenant_id = :t AND type = 'calendar.sync_failed'"),
                {"t": tenant.id},
            )
        ).scalar_one()
        alerts = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM notification_outbox"
                    " WHERE tenant_id = :t AND kind = 'calendar_push_failed'"
                ),
                {"t": tenant.id},
            )
        ).scalar_one()
    assert failed["failure"] == "booking_not_written" and failed["appointment_id"] == appointment_id
    assert alerts == 1
    assert google.live(ACCOUNT) == {}


async def test_a_written_booking_carries_our_id_and_is_not_read_back_as_busy_time(
    app_client, db, google_settings, google
):
    tenant = await _tenant(app_client)
    connection_id = await _connected(db, google_settings, google, tenant)
    day = local_day(6)
    booked = await book_check_up(app_client, tenant, at(day, "11:00"), "Ana Lopez")
    google.fail_next = [500]
    pusher = CalendarPusher(db, google_settings)
    now = datetime.now(UTC)
    await pusher.push_due(now)
    await pusher.push_due(now + timedelta(seconds=30))
    event = google.live(ACCOUNT)[uuid.UUID(booked.json()["id"]).hex]
    assert event["summary"] == "Check-up \u2013 Ana"
    assert event["start"] == {"dateTime": at(day, "11:00").isoformat(), "timeZone": "America/New_York"}
    await CalendarSync(db, google_settings).sync_connection(uuid.UUID(connection_id), now)
    async with db.engine.connect() as conn:
        conflicts = (
            await conn.execute(
                text("SELECT count(*) FROM calendar_conflicts WHERE tenant_id = :t"), {"t": tenant.id}
            )
        ).scalar_one()
    assert conflicts == 0
    assert "11:30" in await free_times(app_client, tenant, day)
