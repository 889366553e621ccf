"""The schema on its own: PostgreSQL refuses overlaps whatever the application does."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from backend.core.migrations import head_revision
from tests.conftest import ROOT, at, iso, local_day


def raw_url(settings) -> str:
    return make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def raw(settings):
    connection = await asyncpg.connect(raw_url(settings))
    yield connection
    await connection.close()


async def booked(client, tenant, when):
    response = await client.post(
        "/api/v1/bookings",
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": iso(when),
            "customer": {"name": "A", "email": "a@x.org"},
        },
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def insert_appointment(raw, tenant, customer_id, start, minutes=30):
    await raw.execute(
        "INSERT INTO appointments (id, tenant_id, reference, provider_id, service_id, customer_id,"
        " starts_at, ends_at, blocked_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        uuid.uuid4(),
        uuid.UUID(tenant.id),
        uuid.uuid4().hex[:8].upper(),
        uuid.UUID(tenant.providers["Dr. Adams"]),
        uuid.UUID(tenant.services["Check-up"]),
        customer_id,
        start,
        start + timedelta(minutes=minutes),
    )


async def insert_hold(raw, tenant, start, expires_in=timedelta(minutes=5), minutes=30):
    await raw.execute(
        "INSERT INTO holds (id, tenant_id, provider_id, service_id, owner, starts_at, ends_at, blocked_until,"
        " expires_at) VALUES ($1, $2, $3, $4, 'raw', $5, $6, $6, now() + $7::interval)",
        uuid.uuid4(),
        uuid.UUID(tenant.id),
        uuid.UUID(tenant.providers["Dr. Adams"]),
        uuid.UUID(tenant.services["Check-up"]),
        start,
        start + timedelta(minutes=minutes),
        expires_in,
    )


async def test_overlapping_appointments_are_refused_by_the_database(client, tenant, raw):
    appointment = await booked(client, tenant, at(local_day(3), "10:00"))
    customer_id = uuid.UUID(appointment["customer"]["id"])
    with pytest.raises(asyncpg.ExclusionViolationError) as refused:
        await insert_appointment(raw, tenant, customer_id, at(local_day(3), "10:15"))
    assert refused.value.constraint_name == "appointments_no_overlap"
    # touching ranges ([10:00, 10:30) and [10:30, 11:00)) do not overlap
    await insert_appointment(raw, tenant, customer_id, at(local_day(3), "10:30"))


async def test_holds_and_appointments_never_overlap_each_other(client, tenant, raw):
    appointment = await booked(client, tenant, at(local_day(4), "10:00"))
    customer_id = uuid.UUID(appointment["customer"]["id"])
    with pytest.raises(asyncpg.ExclusionViolationError) as refused:
        await insert_hold(raw, tenant, at(local_day(4), "10:10"))
    assert refused.value.constraint_name == "holds_appointments_no_overlap"

    await insert_hold(raw, tenant, at(local_day(4), "14:00"))
    with pytest.raises(asyncpg.ExclusionViolationError) as refused:
        await insert_appointment(raw, tenant, customer_id, at(local_day(4), "14:15"))
    assert refused.value.constraint_name == "appointments_holds_no_overlap"
    with pytest.raises(asyncpg.ExclusionViolationError) as refused:
        await insert_hold(raw, tenant, at(local_day(4), "14:20"))
    assert refused.value.constraint_name == "holds_no_overlap"

    # a lapsed hold does not stop an appointment
    await insert_hold(raw, tenant, at(local_day(4), "16:00"), expires_in=timedelta(seconds=-1))
    await insert_appointment(raw, tenant, customer_id, at(local_day(4), "16:00"))


async def test_cancelled_appointments_free_their_time_in_the_database(client, tenant, raw):
    appointment = await booked(client, tenant, at(local_day(5), "11:00"))
    await raw.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", uuid.UUID(appointment["id"])
    )
    await insert_appointment(raw, tenant, uuid.UUID(appointment["customer"]["id"]), at(local_day(5), "11:00"))


def test_migrate_builds_the_schema_on_an_empty_database(settings):
    """`frontdesk migrate` (which `frontdesk serve` runs first) on a database with nothing in it."""
    name = f"frontdesk_empty_{uuid.uuid4().hex[:8]}"
    server = make_url(raw_url(settings))
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    target = server.set(database=name).render_as_string(hide_password=False)

    async def sql(url: str, statement: str):
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(statement)
        finally:
            await connection.close()

    asyncio.run(sql(admin, f'CREATE DATABASE "{name}"'))
    try:
        env = {**os.environ, "DATABASE_URL": target, "REDIS_URL": settings.redis_url, "ADMIN_SECRET": "x"}

        def migrate() -> subprocess.CompletedProcess:
            command = [sys.executable, "-m", "backend.cli", "migrate"]
            return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)

        run = migrate()
        assert run.returncode == 0, run.stderr
        # The head of the chain, which need not be the highest-numbered file (revisions get their
        # numbers when work starts, and are chained in the order they land).
        assert asyncio.run(sql(target, "SELECT version_num FROM alembic_version")) == head_revision()
        assert asyncio.run(sql(target, "SELECT count(*) FROM pg_constraint WHERE contype = 'x'")) == 2
        # running it again is harmless
        again = migrate()
        assert again.returncode == 0, again.stderr
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE "{name}" WITH (FORCE)'))
