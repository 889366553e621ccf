"""Who a patient is across the domains, for exporting and erasing what is held about them.

A patient is their customer row and every contact detail they were known by: a conversation or a
text may never have been linked to the customer, but it came from their number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.models import AuditLog, IdempotencyKey

ERASED = "[erased]"
# What a text held past its clinic's retention period reads as (`backend/retention/`).
EXPIRED = "[removed after the retention period]"
REMOVED = (ERASED, EXPIRED)


@dataclass(frozen=True)
class Person:
    tenant_id: uuid.UUID
    customer_id: uuid.UUID
    phones: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)

    @property
    def contacts(self) -> frozenset[str]:
        return self.phones | self.emails


def mentions(payload: Any, person: Person) -> bool:
    """Whether a stored JSON document holds one of the person's contact details."""
    text = str(payload)
    return any(contact in text for contact in person.contacts)


async def forget_in_records(session: AsyncSession, person: Person, object_ids: list[str]) -> None:
    """The audit rows about the person's objects keep who did what and when, not the details; a
    stored API response that mentions them is dropped (a retry with its key is simply done again)."""
    ids = [str(person.customer_id), *object_ids]
    await session.execute(
        update(AuditLog)
        .where(AuditLog.tenant_id == person.tenant_id, AuditLog.entity_id.in_(ids))
        .values(details={})
    )
    needles = [str(person.customer_id), *person.contacts]
    await session.execute(
        delete(IdempotencyKey).where(
            or_(*(IdempotencyKey.response_body.cast(Text).contains(needle) for needle in needles))
        )
    )
