"""The audit log: one row for every state change, personal data redacted before it is written."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import log_rows
from backend.core.context import Caller
from backend.core.models import AuditLog
from policy.redaction import redact

AUDIT_LOG = AuditLog.__table__
# Reads of personal data, audited with who and when only (never what was read).
READS = ("patient.viewed", "patient.exported", "conversation.viewed")


def record(
    session: AsyncSession,
    caller: Caller,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add the audit row to the caller's transaction: it commits or rolls back with the change."""
    entity = str(entity_id) if entity_id is not None else None
    tenant_id, actor, correlation_id = caller.tenant.id, caller.actor, caller.correlation_id
    _append(session, tenant_id, actor, correlation_id, action, entity_type, entity, details)


def record_unattributed(
    session: AsyncSession, actor: str, action: str, entity_type: str, details: dict[str, Any] | None = None
) -> None:
    """A row for something no tenant can be named for yet: a forged webhook, an unknown number."""
    _append(session, None, actor, None, action, entity_type, None, details)


def _append(
    session: AsyncSession,
    tenant_id: uuid.UUID | None,
    actor: str,
    correlation_id: str | None,
    action: str,
    entity_type: str,
    entity_id: str | None,
    details: dict[str, Any] | None,
) -> None:
    row = {
        "tenant_id": tenant_id,
        "actor": actor,
        "correlation_id": correlation_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "details": redact(details or {}),
    }
    log_rows.append(session, AUDIT_LOG, row)
