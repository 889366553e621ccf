"""Each clinic's nightly purge: what is older than its retention settings is emptied or removed,
a batch at a time (`RETENTION_BATCH_SIZE` rows per transaction, so a purge never holds many locks
or one long transaction), then audited once as `retention.purged` with the counts.

What goes, and after which tenant setting (defaults in `TenantSettings`):
- message bodies in conversations and call transcripts: `retention_message_days` (365)
- call records (who called, when, how it ended): `retention_call_days` (365)
- an idle conversation's gathered state (name, contact, the booking in progress):
  `retention_conversation_state_days` (90)
- bodies of messages the outbox is done with: `retention_outbox_days` (90)
- the stored copy of each inbound text: `retention_inbound_text_days` (90)
- audit rows: `retention_audit_years` (6), archived to JSON Lines under the data dir first.

Appointments are records, not conversation: they stay, with their patient. Each domain empties its
own tables (its `privacy` module); this module only decides when and counts.

A night runs once per clinic, from `RETENTION_HOUR` on the clinic's local clock, claimed in
`retention_runs` so several workers do not repeat it. A purge is idempotent: what it already
emptied is not counted again, so a worker that dies mid-way leaves the rest for the next night.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import privacy as conversation_records
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.schemas import TenantSettings
from backend.core.settings import Settings
from backend.messaging import privacy as message_records
from backend.retention.archive import archive_batch
from backend.retention.models import RetentionRun
from backend.telephony import privacy as phone_records
from backend.tenants import service as tenants

ACTOR = "system:retention"
Batch = Callable[[AsyncSession, uuid.UUID, datetime, int], Awaitable[int]]


@dataclass(frozen=True)
class Rule:
    counted_as: str
    days: Callable[[TenantSettings], int]
    purge: Batch


RULES = (
    Rule("message_bodies", lambda s: s.retention_message_days, conversation_records.expire_message_bodies),
    Rule("call_transcripts", lambda s: s.retention_message_days, phone_records.expire_transcripts),
    Rule("call_records", lambda s: s.retention_call_days, phone_records.expire_calls),
    Rule(
        "conversation_states",
        lambda s: s.retention_conversation_state_days,
        conversation_records.expire_idle_states,
    ),
    Rule("outbox_bodies", lambda s: s.retention_outbox_days, message_records.expire_bodies),
    Rule("inbound_texts", lambda s: s.retention_inbound_text_days, phone_records.expire_inbound_texts),
)


def years_before(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February, in a year without one
        return now.replace(year=now.year - years, day=28)


async def purge(db: Database, settings: Settings, tenant: TenantContext, now: datetime) -> dict[str, int]:
    """Everything of this clinic older than its settings, emptied or removed; the counts."""
    batch = settings.retention_batch_size
    counts: dict[str, int] = {}
    for rule in RULES:
        before = now - timedelta(days=rule.days(tenant.settings))
        counts[rule.counted_as] = await _in_batches(
            db, batch, lambda session, rule=rule, before=before: rule.purge(session, tenant.id, before, batch)
        )
    audit_before = years_before(now, tenant.settings.retention_audit_years)
    counts["audit_archived"] = await _in_batches(
        db, batch, lambda session: archive_batch(session, settings.data_dir, tenant.id, audit_before, batch)
    )
    if any(counts.values()):

        async def record(session: AsyncSession) -> None:
            caller = Caller(tenant, ACTOR, f"retention:{now.date().isoformat()}")
            audit.record(session, caller, "retention.purged", "tenant", tenant.id, counts)

        await db.transaction(record)
    return counts


async def _in_batches(db: Database, batch: int, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    total = 0
    while True:
        done = await db.transaction(work)
        total += done
        if done < batch:
            return total


async def run_due(db: Database, settings: Settings, now: datetime) -> int:
    """Purge every clinic whose night has come and was not purged yet tonight; how many were."""
    ran = 0
    for tenant in await db.transaction(tenants.every_tenant):
        local = now.astimezone(tenant.timezone)
        if local.hour < settings.retention_hour:
            continue
        day = local.date()
        if not await db.transaction(lambda session, t=tenant, d=day: _claim(session, t.id, d, now)):
            continue
        counts = await purge(db, settings, tenant, now)
        await db.transaction(lambda session, t=tenant, c=counts: _finish(session, t.id, c, now))
        ran += 1
    return ran


async def _claim(session: AsyncSession, tenant_id: uuid.UUID, day: date, now: datetime) -> bool:
    """This worker runs the clinic's purge for `day`, unless one already did (or is)."""
    claimed = await session.scalar(
        insert(RetentionRun)
        .values(tenant_id=tenant_id, run_on=day, started_at=now, counts={})
        .on_conflict_do_update(
            index_elements=[RetentionRun.tenant_id],
            set_={"run_on": day, "started_at": now, "finished_at": None},
            where=RetentionRun.run_on < day,
        )
        .returning(RetentionRun.tenant_id)
    )
    return claimed is not None


async def _finish(session: AsyncSession, tenant_id: uuid.UUID, counts: dict[str, int], now: datetime) -> None:
    run = await session.get_one(RetentionRun, tenant_id)
    run.finished_at, run.counts = now, counts


async def last_run(session: AsyncSession, tenant_id: uuid.UUID) -> RetentionRun | None:
    return await session.scalar(select(RetentionRun).where(RetentionRun.tenant_id == tenant_id))
