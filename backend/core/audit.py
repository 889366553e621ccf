"""The audit log: one row for every state change, personal data redacted before it is written."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller
from backend.core.models import AuditLog
from policy.redaction import redact


def record(
    session: AsyncSession,
    caller: Caller,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add the audit row to the caller's transaction: it commits or rolls back with the change."""
    session.add(
        AuditLog(
            tenant_id=caller.tenant.id,
            actor=caller.actor,
            correlation_id=caller.correlation_id,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id) if entity_id is not None else None,
            details=redact(details or {}),
        )
    )


def record_unattributed(
    session: AsyncSession, actor: str, action: str, entity_type: str, details: dict[str, Any] | None = None
) -> None:
    """A row for something no tenant can be named for yet: a forged webhook, an unknown number."""
    session.add(
        AuditLog(
            tenant_id=None,
            actor=actor,
            action=action,
            entity_type=entity_type,
            details=redact(details or {}),
        )
    )
