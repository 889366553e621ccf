"""A clinic's FAQ: listing, adding, changing and removing entries (audited), and the whole list as
the receptionist reads it on every chat turn.

A phrasing belongs to one entry only: two entries asked the same way would leave the receptionist
to guess which answer was meant, so that is refused with the entry that already has it.

A statement more per turn cost a turn about 3 % more CPU, so each process keeps every clinic's list
under the tenant's `practice_revision`, which every change moves on in its own transaction: the
tenant is read for every message anyway, and a turn whose tenant carries a newer revision reads the
list again. Nothing kept is needed for correctness: a new process simply reads it.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict, NotFound
from backend.faq.models import FaqEntry
from backend.faq.schemas import MAX_ENTRIES, FaqEntryIn, FaqEntryPatch, normal_question
from backend.tenants import service as tenants

_IN_ORDER = (FaqEntry.position, FaqEntry.created_at, FaqEntry.id)


class Answer(NamedTuple):
    id: uuid.UUID
    questions: tuple[str, ...]
    answer: str


# What every chat turn reads, built once: building a statement cost more than running it.
_FOR_RECEPTIONIST = (
    select(FaqEntry.id, FaqEntry.questions, FaqEntry.answer)
    .where(FaqEntry.tenant_id == bindparam("tenant_id"))
    .order_by(*_IN_ORDER)
)
# Clinics whose lists this process keeps, least recently used first.
KEPT_CLINICS = 2000
_kept: OrderedDict[uuid.UUID, tuple[int, tuple[Answer, ...]]] = OrderedDict()


async def for_receptionist(session: AsyncSession, tenant: TenantContext) -> tuple[Answer, ...]:
    """Every entry, in list order, as of the tenant's practice revision (or later)."""
    kept = _kept.get(tenant.id)
    if kept is not None and kept[0] == tenant.practice_revision:
        _kept.move_to_end(tenant.id)
        return kept[1]
    rows = await session.execute(_FOR_RECEPTIONIST, {"tenant_id": tenant.id})
    answers = tuple(Answer(entry_id, tuple(questions), answer) for entry_id, questions, answer in rows)
    # Read after the tenant was, so at least as new as its revision: never older than its key says.
    # A turn that began before a change does not put back the list read for one that began after.
    if kept is None or kept[0] < tenant.practice_revision:
        _kept[tenant.id] = (tenant.practice_revision, answers)
        _kept.move_to_end(tenant.id)
    if len(_kept) > KEPT_CLINICS:
        _kept.popitem(last=False)
    return answers


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
    await tenants.practice_changed(session, caller.tenant.id)
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
    await tenants.practice_changed(session, caller.tenant.id)
    audit.record(
        session, caller, "faq.updated", "faq_entry", entry.id, {"fields": sorted(changes), **_summary(entry)}
    )
    return entry


async def delete_entry(session: AsyncSession, caller: Caller, entry_id: uuid.UUID) -> None:
    entry = await get_entry(session, caller.tenant, entry_id)
    await session.delete(entry)
    await tenants.practice_changed(session, caller.tenant.id)
    audit.record(session, caller, "faq.deleted", "faq_entry", entry_id, _summary(entry))


async def seed(session: AsyncSession, caller: Caller, specs: Sequence[FaqEntryIn]) -> None:
    """A new clinic's whole FAQ at once (the demo clinic's), in the caller's transaction."""
    entries = [_new_entry(caller.tenant.id, spec) for spec in specs]
    session.add_all(entries)
    await session.flush()
    await tenants.practice_changed(session, caller.tenant.id)
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
