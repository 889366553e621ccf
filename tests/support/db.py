"""Queries tests use to check the database itself, independent of the code under test."""

from __future__ import annotations

from sqlalchemy import text

from backend.core import idempotency
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.scheduling.guards import writer_gate
from backend.tenants.models import Tenant


async def overlapping_pairs(db: Database) -> int:
    """Pairs of occupying appointments / live holds of one provider that overlap (must be 0)."""

    async def count(session):
        return (
            await session.execute(
                text(
                    """
                    SELECT
                      (SELECT count(*) FROM appointments a JOIN appointments b
                         ON a.provider_id = b.provider_id AND a.id < b.id
                        AND a.status IN ('booked', 'confirmed') AND b.status IN ('booked', 'confirmed')
                        AND tstzrange(a.starts_at, a.blocked_until)
                            && tstzrange(b.starts_at, b.blocked_until))
                    + (SELECT count(*) FROM holds a JOIN holds b
                         ON a.provider_id = b.provider_id AND a.id < b.id
                        AND a.status = 'active' AND b.status = 'active'
                        AND tstzrange(a.starts_at, a.blocked_until)
                            && tstzrange(b.starts_at, b.blocked_until))
                    """
                )
            )
        ).scalar_one()

    return await db.transaction(count)


async def scalar(db: Database, sql: str, **params):
    async def run(session):
        return (await session.execute(text(sql), params)).scalar()

    return await db.transaction(run)


async def rows(db: Database, sql: str, **params):
    async def run(session):
        return [dict(r._mapping) for r in await session.execute(text(sql), params)]

    return await db.transaction(run)


def booking_transaction(db: Database, caller: Caller, work, *, gated: bool = True, gate: int | None = None):
    """Run a booking-service call the way the API does: SERIALIZABLE, behind `gate` (by default the
    tenant's gate; none with `gated=False`)."""
    if gate is None and gated:
        gate = writer_gate(caller.tenant.id)
    return db.transaction(work, isolation="SERIALIZABLE", gate=gate)


async def caller_for(db: Database, tenant_id: str, actor: str = "test") -> Caller:
    async def load(session):
        return TenantContext.of(await session.get_one(Tenant, tenant_id))

    return Caller(tenant=await db.transaction(load), actor=actor, correlation_id="test")


async def key_held(db: Database, scope: str, key: str) -> bool:
    """Whether a database session holds an idempotency key's lock: its request is running. (A
    bigint advisory lock shows in pg_locks as its high and low halves.)"""
    lock = idempotency.lock_key(scope, key) & 0xFFFFFFFFFFFFFFFF
    held = await scalar(
        db,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1",
        high=lock >> 32,
        low=lock & 0xFFFFFFFF,
    )
    return bool(held)
