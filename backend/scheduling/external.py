"""Appointments from the clinic's own system: upserted by (source, their id), with the lifecycle
of ours.

Their system is the source of truth for them: lead time, opening hours and the booking window do
not refuse one. A new one is booked (confirmation per the source's setting, reminders), a change of
time or provider is a move, `cancelled` a cancellation, `completed` / `no_show` a visit's outcome,
each with the messages, events and waitlist offers ours get. An update carries the version (or the
update time) it was at there: an older one than what is stored is ignored, never applied over it.

One that lands on a time already taken is stored anyway and flagged as a conflict (`booking.conflict`),
never dropped and never moving ours: the database keeps it outside the exclusion constraint and
keeps everything else off its time (alembic 0017). Live holds over its time give way.

Run every write as `Database.transaction(work, isolation="SERIALIZABLE", gate=gate(tenant))`: the
gate lines up this tenant's upserts (two updates of one appointment never interleave), the
provider-day locks line them up with bookings, and SERIALIZABLE catches the rest.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict, NotFound
from backend.customers import service as customers
from backend.scheduling import external_writes as writes
from backend.scheduling import guards
from backend.scheduling.availability import OCCUPYING
from backend.scheduling.external_rows import Spec
from backend.scheduling.models import Appointment

if TYPE_CHECKING:  # the customers domain's row, handed back by its service
    from backend.customers.models import Customer


def gate(tenant_id: uuid.UUID) -> int:
    return guards.lock_key(tenant_id, "external-appointments")


@dataclass(frozen=True)
class Outcome:
    result: str  # created | updated | unchanged | stale
    appointment: Appointment
    conflicts_with: list[uuid.UUID]


async def find(
    session: AsyncSession, tenant: TenantContext, source: str, external_id: str, *, for_update: bool = False
) -> Appointment | None:
    query = select(Appointment).where(
        Appointment.tenant_id == tenant.id,
        Appointment.source == source,
        Appointment.external_id == external_id,
    )
    if for_update:
        query = query.with_for_update(of=Appointment)
    # Fresh from the row every time: an earlier row of the same import may have been undone.
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()


async def get(session: AsyncSession, tenant: TenantContext, source: str, external_id: str) -> Outcome:
    appointment = await find(session, tenant, source, external_id)
    if appointment is None:
        raise NotFound(
            f"no appointment from {source} with id {external_id!r}",
            details={"source": source, "external_id": external_id},
        )
    return Outcome("unchanged", appointment, await overlapping(session, appointment))


async def upsert(session: AsyncSession, caller: Caller, spec: Spec, now: datetime) -> Outcome:
    existing = await find(session, caller.tenant, spec.source, spec.external_id, for_update=True)
    if existing is None:
        return Outcome("created", *await writes.create(session, caller, spec, now))
    order = _order(existing, spec.version, spec.updated_at)
    if order < 0:
        return Outcome("stale", existing, await overlapping(session, existing))
    same_person = _same_person(existing.customer, spec)
    consent = _consent_changes(existing.customer, spec) if same_person else {}
    target = _target(existing, spec)
    if same_person and not consent and target == writes.state(existing):
        if order > 0:
            await _remember_version(session, existing, spec.version, spec.updated_at)
        return Outcome("unchanged", existing, await overlapping(session, existing))
    if order == 0:
        raise Conflict(
            f"this version was already applied with other values; send a newer {_versioned_by(existing)}",
            details={"source": spec.source, "external_id": spec.external_id},
        )
    customer = existing.customer
    if same_person:
        await customers.set_consent(session, caller, customer, consent, "api", now)
    else:
        customer = await customers.find_or_create(session, caller, spec.customer, source="api", now=now)
    change = writes.Change(target, customer, spec.provider, spec.service, spec.version, spec.updated_at)
    return Outcome("updated", existing, await writes.change(session, caller, existing, change, now))


async def cancel(
    session: AsyncSession,
    caller: Caller,
    source: str,
    external_id: str,
    version: int | None,
    updated_at: datetime | None,
    now: datetime,
) -> Outcome:
    """DELETE: the appointment was cancelled (or deleted) in their system."""
    existing = await find(session, caller.tenant, source, external_id, for_update=True)
    if existing is None:
        raise NotFound(
            f"no appointment from {source} with id {external_id!r}",
            details={"source": source, "external_id": external_id},
        )
    if (version is not None or updated_at is not None) and _order(existing, version, updated_at) < 0:
        return Outcome("stale", existing, await overlapping(session, existing))
    if existing.status == "cancelled":
        return Outcome("unchanged", existing, [])
    target = writes.state(existing) | {"status": "cancelled"}
    change = writes.Change(
        target, existing.customer, existing.provider, existing.service, version, updated_at
    )
    await writes.change(session, caller, existing, change, now)
    return Outcome("updated", existing, [])


async def overlapping(session: AsyncSession, appointment: Appointment) -> list[uuid.UUID]:
    """The other occupying appointments of its provider over its time, if it occupies any."""
    if appointment.status not in OCCUPYING:
        return []
    return await writes.overlapping_ids(
        session, appointment.tenant_id, appointment.provider_id, appointment.starts_at,
        appointment.blocked_until, appointment.id,
    )  # fmt: skip


# ---- versions ----


def _order(existing: Appointment, version: int | None, updated_at: datetime | None) -> int:
    """-1: older than what is stored, 0: the same, 1: newer."""
    if version is not None and existing.external_version is not None:
        return (version > existing.external_version) - (version < existing.external_version)
    if updated_at is not None and existing.external_updated_at is not None:
        return (updated_at > existing.external_updated_at) - (updated_at < existing.external_updated_at)
    raise Conflict(
        f"this appointment is versioned by {_versioned_by(existing)}: send that, so the order of "
        "updates is known",
        details={"versioned_by": _versioned_by(existing)},
    )


def _versioned_by(appointment: Appointment) -> str:
    return "version" if appointment.external_version is not None else "updated_at"


async def _remember_version(
    session: AsyncSession, appointment: Appointment, version: int | None, updated_at: datetime | None
) -> None:
    """A newer update that changes nothing: only its version is kept (written now, not at flush)."""
    values = writes.versions(version, updated_at)
    await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for name, value in values.items():
        set_committed_value(appointment, name, value)


# ---- what changes ----


def _target(existing: Appointment, spec: Spec) -> dict[str, Any]:
    target = {
        "provider_id": spec.provider.id,
        "service_id": spec.service.id,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "blocked_until": spec.blocked_until,
        "status": spec.status,
        "notes": spec.notes,
    }
    same_time = all(target[k] == getattr(existing, k) for k in ("provider_id", "starts_at", "blocked_until"))
    if spec.status == "booked" and existing.status == "confirmed" and same_time:
        target["status"] = "confirmed"  # the patient said they will come; their system may not know
    return target


def _same_person(customer: Customer, spec: Spec) -> bool:
    given = spec.customer
    if given.phone:
        return customer.phone == given.phone
    return bool(given.email) and (customer.email or "").lower() == (given.email or "").lower()


def _consent_changes(customer: Customer, spec: Spec) -> dict[str, bool]:
    """Consent the request states (and only that) where it differs from the patient's."""
    given = spec.customer
    stated = {
        ch: getattr(given, f"{ch}_consent")
        for ch in ("sms", "email")
        if f"{ch}_consent" in given.model_fields_set
    }
    return {ch: v for ch, v in stated.items() if getattr(customer, f"{ch}_consent") != v}
