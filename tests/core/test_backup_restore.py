"""`frontdesk backup` → the database dropped → `frontdesk restore` into an empty one: the demo
clinic's bookings and API key work, and its sealed secrets open (a CalDAV sync and a push with the
sealed app password, a webhook delivery signed with the sealed secret). A restore refuses a
database that is not empty, a schema newer than the code and a key ring without the backup's keys.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime

import asyncpg
from sqlalchemy.engine import make_url

from backend.calendars.push import CalendarPusher
from backend.calendars.sync import CalendarSync
from backend.core import migrations
from backend.core.crypto import KeyRing
from backend.core.db import Database
from backend.events.pump import WebhookPump
from backend.tenants import demo
from tests.conftest import ADMIN_SECRET, ROOT, SECRETS_KEYS, at, in_process_app, weekday_ahead
from tests.fakes.webhook_receiver import running_receiver


async def _admin(server: str, statement: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def frontdesk(command: str, directory, settings, keys: str = SECRETS_KEYS) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SECRETS_KEYS": keys,
        "ADMIN_SECRET": ADMIN_SECRET,
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", command, str(directory)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def book(client, auth, service_id, provider_id, day: date, hh_mm: str) -> dict:
    booked = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": service_id,
            "provider_id": provider_id,
            "starts_at": at(day, hh_mm).isoformat(),
            "customer": {"name": "Ana Restore", "phone": "+12125550123"},
        },
        headers=auth,
    )
    assert booked.status_code == 201, booked.text
    return booked.json()


async def test_backup_drop_restore_and_the_demo_clinic_books_syncs_and_delivers(settings, radicale, tmp_path):
    server = make_url(settings.database_url).set(database="postgres").render_as_string(hide_password=False)
    name = f"frontdesk_restore_{uuid.uuid4().hex[:8]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    url = make_url(settings.database_url).set(database=name).render_as_string(hide_password=False)
    mine = settings.model_copy(update={"database_url": url, "data_dir": tmp_path / "data"})
    backup_dir = tmp_path / "backup"
    try:
        migrations.upgrade_to_head(url)
        seeding = Database(mine)
        clinic = await demo.seed(
            seeding, "", "", ["http://127.0.0.1"], "demo owner password", new_password=True
        )
        await seeding.dispose()
        auth = {"Authorization": f"Bearer {clinic.api_key}"}
        account = radicale.new_account()
        calendar = account.make_calendar("Work")

        async with running_receiver() as receiver:
            async with in_process_app(mine) as client:
                provider = (await client.get("/api/v1/providers", headers=auth)).json()[0]
                service = next(
                    s
                    for s in (await client.get("/api/v1/services", headers=auth)).json()
                    if not s["provider_ids"] or provider["id"] in s["provider_ids"]
                )
                connected = await client.post(
                    f"/api/v1/providers/{provider['id']}/calendar-connections/caldav",
                    json={
                        "server_url": account.server_url,
                        "username": account.username,
                        "password": account.password,
                    },
                    headers=auth,
                )
                assert connected.status_code == 201, connected.text
                endpoint = await client.post(
                    "/api/v1/webhook-endpoints", json={"url": receiver.url}, headers=auth
                )
                assert endpoint.status_code == 201, endpoint.text
                receiver.secrets = [endpoint.json()["secret"]]
                before = await book(client, auth, service["id"], provider["id"], weekday_ahead(6), "10:00")

            made = frontdesk("backup", backup_dir, mine)
            assert made.returncode == 0, made.stderr
            manifest = json.loads((backup_dir / "manifest.json").read_text())
            assert manifest["alembic_revision"] == migrations.head_revision()
            assert manifest["key_ids"] == [v for v, _ in KeyRing.parse(SECRETS_KEYS).keys]
            key_material = SECRETS_KEYS.split(":", 1)[1]
            assert key_material not in (backup_dir / "manifest.json").read_text()

            await _admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')
            await _admin(server, f'CREATE DATABASE "{name}"')

            newer = tmp_path / "newer"
            shutil.copytree(backup_dir, newer)
            (newer / "manifest.json").write_text(json.dumps({**manifest, "alembic_revision": "9999"}))
            refused = frontdesk("restore", newer, mine)
            assert refused.returncode != 0 and "newer than this code" in refused.stderr
            other_keys = frontdesk("restore", backup_dir, mine, keys=KeyRing.new_key("other"))
            assert other_keys.returncode != 0 and "lacks the key(s) t1" in other_keys.stderr

            restored = frontdesk("restore", backup_dir, mine)
            assert restored.returncode == 0, restored.stderr
            again = frontdesk("restore", backup_dir, mine)
            assert again.returncode != 0 and "not empty" in again.stderr

            async with in_process_app(mine) as client:
                kept = await client.get(f"/api/v1/bookings/{before['id']}", headers=auth)
                assert kept.status_code == 200 and kept.json()["starts_at"] == before["starts_at"]
                after = await book(client, auth, service["id"], provider["id"], weekday_ahead(7), "11:00")

                db = client._transport.app.state.db  # type: ignore[attr-defined]
                now = datetime.now(UTC)
                synced = await CalendarSync(db, mine).sync_connection(uuid.UUID(connected.json()["id"]), now)
                assert synced.error is None, synced.error
                assert await CalendarPusher(db, mine).push_due(now) >= 1
                uids = {str(event.icalendar_component["UID"]) for event in calendar.events()}
                assert {before["id"], after["id"]} <= {uid.split("@")[0] for uid in uids}, uids

                pump = WebhookPump(db, mine)
                try:
                    assert await pump.drain() >= 1
                finally:
                    await pump.sender.close()
                delivered = [r.body for r in receiver.accepted]
                assert after["id"] in str(delivered), receiver.rejected
                assert not receiver.rejected, (
                    "every delivery verified with the secret sealed before the backup"
                )
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
