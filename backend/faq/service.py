"""A clinic's FAQ: listing, adding, changing and removing entries (audited), and reading the whole
list for the receptionist on every chat turn.

A phrasing belongs to one entry only: two entries asked the same way would leave the receptionist
to guess which answer was meant, so that is refused with the entry that already has it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict, NotFound
from backend.faq.models import FaqEntry
from backend.faq.schemas import MAX_ENTRIES, FaqEntryIn, FaqEntryPatch, normal_question

_IN_ORDER = (FaqEntry.position, FaqEntry.created_at, FaqEntry.id)

# What every chat turn reads, built once: building a statement cost more than running it.
_FOR_RECEPTIONIST = (
    select(FaqEntry.id, FaqEntry.questions, FaqEntry.answer)
    .where(FaqEntry.tenant_id == bindparam("tenant_id"))
    .order_by(*_IN_ORDER)
)


async def for_receptionist(
    session: AsyncSession, tenant: TenantContext
) -> list[tuple[uuid.UUID, list[str], str]]:
    """(id, questions, answer) of every entry, in list order."""
    rows = await session.execute(_FOR_RECEPTIONIST, {"tenant_id": tenant.id})
    return [(entry_id, questions, answer) for entry_id, questions, answer in rows]


async def list_entries(session: AsyncSession, tenant: TenantContext) -> list[FaqEntry]:
    rows = await session.execute(select(FaqEntry).where(FaqEntry.tenant_id == tenant.id).order_by(*_IN_ORDER))
    return list(rows.scalars())


async def get_entry(session: AsyncSession, tenant: TenantContext, entry_id: uuid.UUID) -> FaqEntry:
    found = await session.scalar(
        select(FaqEntry).where(FaqEntry.id == entry_id, FaqEntry.tenant_id == tenant.id)
    )
    if found is None:
        raise NotFound(f"FAQ entry {entry_id} not found", details={"faq_entry_id": str(entry_id)})
    return found


async def add_entry(session: AsyncSession, caller: Caller, spec: FaqEntryIn) -> FaqEntry:
    existing = await list_entries(session, caller.tenant)
    if len(existing) >= MAX_ENTRIES:
        raise Conflict(
            f"the FAQ has {MAX_ENTRIES} entries, the most it may have; change or remove one first",
            details={"limit": MAX_ENTRIES},
        )
    _asked_once(spec.questions, existing)
    entry = _new_entry(caller.tenant.id, spec)
    session.add(entry)
    await session.flush()
    audit.record(session, caller, "faq.created", "faq_entry", entry.id, _summary(entry))
    return entry


async def change_entry(
    session: AsyncSession, caller: Caller, entry_id: uuid.UUID, patch: FaqEntryPatch
) -> FaqEntry:
    entry = await get_entry(session, caller.tenant, entry_id)
    changes = patch.changes()
    if "questions" in changes:
        others = [e for e in await list_entries(session, caller.tenant) if e.id != entry.id]
        _asked_once(changes["questions"], others)
    for field, value in changes.items():
        setattr(entry, field, value)
    await session.flush()
    audit.record(
        session, caller, "faq.updated", "faq_entry", entry.id, {"fields": sorted(changes), **_summary(entry)}
    )
    return entry


async def delete_entry(session: AsyncSession, caller: Caller, entry_id: uuid.UUID) -> None:
    entry = await get_entry(session, caller.tenant, entry_id)
    await session.delete(entry)
    audit.record(session, caller, "faq.deleted", "faq_entry", entry_id, _summary(entry))


async def seed(session: AsyncSession, caller: Caller, specs: Sequence[FaqEntryIn]) -> None:
    """A new clinic's whole FAQ at once (the demo clinic's), in the caller's transaction."""
    entries = [_new_entry(caller.tenant.id, spec) for spec in specs]
    session.add_all(entries)
    await session.flush()
    audit.record(session, caller, "faq.seeded", "tenant", caller.tenant.id, {"entries": len(entries)})


def _new_entry(tenant_id: uuid.UUID, spec: FaqEntryIn) -> FaqEntry:
    return FaqEntry(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        questions=spec.questions,
        answer=spec.answer,
        topic=spec.topic,
        position=spec.position,
    )


def _asked_once(questions: Iterable[str], others: Iterable[FaqEntry]) -> None:
    taken = {normal_question(q): entry for entry in others for q in entry.questions}
    for question in questions:
        owner = taken.get(normal_question(question))
        if owner is not None:
            raise Conflict(
                f"another FAQ entry is already asked {question!r}",
                details={"question": question, "faq_entry_id": str(owner.id)},
            )


def _summary(entry: FaqEntry) -> dict[str, object]:
    # The clinic's own words are not personal data, but the audit row keeps to what changed.
    return {"topic": entry.topic, "questions": len(entry.questions), "position": entry.position}
