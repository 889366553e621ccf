"""Audit rows past the clinic's audit retention leave the database for JSON Lines files under the
data dir: `<DATA_DIR>/audit-archive/<tenant id>/<first id>-<last id>.jsonl`, one row a line.

A batch's file is written whole (a temporary file, flushed to disk, renamed) before its rows are
deleted in the same transaction: a crash in between leaves the rows in place, and the next run
writes the same batch to the same file name again, so the archive never loses or doubles a row.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.models import AuditLog

ARCHIVE_DIR = "audit-archive"


def archive_dir(data_dir: Path, tenant_id: uuid.UUID) -> Path:
    return data_dir / ARCHIVE_DIR / str(tenant_id)


async def archive_batch(
    session: AsyncSession, data_dir: Path, tenant_id: uuid.UUID, before: datetime, limit: int
) -> int:
    """Up to `limit` of the tenant's oldest audit rows from before `before` archived and removed."""
    rows = list(
        await session.scalars(
            select(AuditLog)
            .where(AuditLog.tenant_id == tenant_id, AuditLog.occurred_at < before)
            .order_by(AuditLog.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return 0
    folder = archive_dir(data_dir, tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{rows[0].id:019d}-{rows[-1].id:019d}.jsonl"
    _write_whole(target, "".join(json.dumps(_line(row), sort_keys=True) + "\n" for row in rows))
    await session.execute(delete(AuditLog).where(AuditLog.id.in_([row.id for row in rows])))
    return len(rows)


def _line(row: AuditLog) -> dict[str, object]:
    return {
        "id": row.id,
        "tenant_id": str(row.tenant_id),
        "occurred_at": row.occurred_at.isoformat(),
        "actor": row.actor,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "correlation_id": row.correlation_id,
        "details": row.details,
    }


def _write_whole(target: Path, text: str) -> None:
    partial = target.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(target)
    os.chmod(target, 0o600)
