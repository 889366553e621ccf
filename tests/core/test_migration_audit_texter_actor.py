"""Audit rows written before texters were named `patient:sms` lose the phone number on upgrade."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncpg
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from alembic import command
from backend.core.migrations import ALEMBIC_INI

MIGRATION = "0026"


def _upgrade(url: str, revision: str) -> None:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = url
    # alembic/env.py runs its own event loop: keep it off this test's.
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(command.upgrade, config, revision).result()


async def test_texter_phone_numbers_leave_the_audit_actor_column(settings) -> None:
    server = make_url(settings.database_url).set(database="postgres").render_as_string(hide_password=False)
    name = f"frontdesk_migration_{uuid.uuid4().hex[:8]}"
    url = make_url(settings.database_url).set(database=name)
    plain_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(server.replace("+asyncpg", ""))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        before = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_revision(MIGRATION).down_revision
        _upgrade(url.render_as_string(hide_password=False), str(before))
        connection = await asyncpg.connect(plain_url)
        try:
            await connection.execute(
                "INSERT INTO audit_log (actor, action, entity_type) VALUES "
                "('sms:+16175550123', 'sms.opted_out', 'customer'), "
                "('staff:42', 'booking.created', 'appointment')"
            )
            _upgrade(url.render_as_string(hide_password=False), "head")
            rows = await connection.fetch("SELECT actor FROM audit_log ORDER BY id")
            actors = [row["actor"] for row in rows]
        finally:
            await connection.close()
        assert actors == ["patient:sms", "staff:42"]
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
