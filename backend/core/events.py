"""Domain events: an append-only record of what happened, for the event API and its replay.

Written in the transaction of the change they describe. Personal data is redacted: an event says
that a text went to a masked number, never the text.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.models import DomainEvent
from policy.redaction import redact


def record(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        DomainEvent(
            tenant_id=tenant_id,
            type=event_type,
            entity_type=entity_type,
            entity_id=str(entity_id),
            data=redact(data or {}),
        )
    )
