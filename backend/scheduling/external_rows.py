"""From what another system sent to what we write: its ids mapped to our providers and services,
times checked and the patient's number normalized, for many rows in a few queries. A row that
cannot be written gets the reason, and no row is written half."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.core.errors import AppError, ValidationFailed
from backend.customers import service as customers
from backend.customers.schemas import CustomerIn
from backend.scheduling import external_ids
from backend.scheduling.external_schemas import ExternalAppointmentIn
from backend.scheduling.models import Provider, Service

# The service of an appointment whose system did not say (or we do not offer): never offered to
# patients, so nobody books it here.
UNNAMED_SERVICE = "Appointment"


@dataclass(frozen=True)
class Incoming:
    """One appointment as sent: where it came from, its id there, and what it is now."""

    index: int
    source: str
    external_id: str
    data: ExternalAppointmentIn


@dataclass(frozen=True)
class Spec:
    """An appointment to write, with everything resolved to ours."""

    source: str
    external_id: str
    version: int | None
    updated_at: datetime | None
    status: str
    provider: Provider
    service: Service
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    customer: CustomerIn
    notes: str


async def resolve(
    session: AsyncSession, tenant: TenantContext, rows: Sequence[Incoming]
) -> list[Spec | AppError]:
    """Each row as a Spec, or the error that keeps it from being written, in the same order."""
    providers = await _targets(session, tenant, rows, "provider", Provider)
    services = await _targets(session, tenant, rows, "service", Service)
    unnamed = None
    if any(r.data.service_id is None and r.data.service_external_id is None for r in rows):
        unnamed = await unnamed_service(session, tenant)
    resolved: list[Spec | AppError] = []
    for row in rows:
        try:
            resolved.append(_spec(tenant, row, providers, services, unnamed))
        except AppError as error:
            resolved.append(error)
    return resolved


def _spec(
    tenant: TenantContext,
    row: Incoming,
    providers: dict[tuple[str, object], Provider],
    services: dict[tuple[str, object], Service],
    unnamed: Service | None,
) -> Spec:
    data = row.data
    _one_time_zone(tenant, data.starts_at, data.ends_at)
    if data.provider_id is not None:
        provider = providers.get(("id", data.provider_id))
        if provider is None:
            raise ValidationFailed("provider_id", f"no provider {data.provider_id}")
    else:
        provider = providers.get((row.source, data.provider_external_id))
        if provider is None:
            raise ValidationFailed(
                "provider_external_id",
                f"no provider has {row.source} id {data.provider_external_id!r}: set it once in the "
                "provider's external_ids (PATCH /api/v1/providers/{id})",
            )
    if data.service_id is not None:
        service = services.get(("id", data.service_id))
        if service is None:
            raise ValidationFailed("service_id", f"no service {data.service_id}")
    elif data.service_external_id is not None:
        service = services.get((row.source, data.service_external_id))
        if service is None:
            raise ValidationFailed(
                "service_external_id",
                f"no service has {row.source} id {data.service_external_id!r}: set it once in the "
                "service's external_ids (PATCH /api/v1/services/{id})",
            )
    else:
        assert unnamed is not None
        service = unnamed
    person = data.customer
    if person.phone:
        phone = customers.normalize_phone(person.phone, tenant.settings.default_country)
        person = person.model_copy(update={"phone": phone})
    starts, ends = data.starts_at.astimezone(UTC), data.ends_at.astimezone(UTC)
    return Spec(
        source=row.source,
        external_id=row.external_id,
        version=data.version,
        updated_at=data.updated_at,
        status=data.status,
        provider=provider,
        service=service,
        starts_at=starts,
        ends_at=ends,
        blocked_until=ends + timedelta(minutes=service.buffer_minutes),
        customer=person,
        notes=data.notes,
    )


def _one_time_zone(tenant: TenantContext, starts: datetime, ends: datetime) -> None:
    """Start and end in one time zone: the same offset, or the clinic's own across a DST change. Two
    zones in one row usually mean one of the times was converted and the other was not."""
    if starts.utcoffset() == ends.utcoffset():
        return
    tz = tenant.timezone
    local = (starts.astimezone(tz).utcoffset(), ends.astimezone(tz).utcoffset())
    if (starts.utcoffset(), ends.utcoffset()) == local:
        return
    raise ValidationFailed(
        "ends_at",
        f"starts_at is at UTC{_offset(starts)} and ends_at at UTC{_offset(ends)}: "
        "give both times in one time zone",
    )


def _offset(moment: datetime) -> str:
    return moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]


M = TypeVar("M", Provider, Service)


async def _targets(
    session: AsyncSession,
    tenant: TenantContext,
    rows: Sequence[Incoming],
    kind: external_ids.Kind,
    model: type[M],
) -> dict[tuple[str, object], M]:
    """The providers (or services) the rows name, by ("id", our id) and by (source, their id);
    inactive ones too: the other system's appointments stand."""
    ours: set[uuid.UUID] = set()
    theirs: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        our_id, their_id = _named(r.data, kind)
        if our_id is not None:
            ours.add(our_id)
        if their_id is not None:
            theirs[r.source].add(their_id)
    mapped = {
        (source, key): target
        for source, keys in theirs.items()
        for key, target in (await external_ids.resolve(session, tenant, kind, source, keys)).items()
    }
    wanted = ours | set(mapped.values())
    loaded: dict[uuid.UUID, M] = {}
    if wanted:
        found = await session.scalars(select(model).where(model.tenant_id == tenant.id, model.id.in_(wanted)))
        loaded = {row.id: row for row in found}
    by_key: dict[tuple[str, object], M] = {("id", i): loaded[i] for i in ours if i in loaded}
    by_key.update({key: loaded[target] for key, target in mapped.items() if target in loaded})
    return by_key


def _named(data: ExternalAppointmentIn, kind: external_ids.Kind) -> tuple[uuid.UUID | None, str | None]:
    if kind == "provider":
        return data.provider_id, data.provider_external_id
    return data.service_id, data.service_external_id


async def unnamed_service(session: AsyncSession, tenant: TenantContext) -> Service:
    """The tenant's service for appointments of no service we know, made the first time it is needed."""
    await session.execute(
        insert(Service)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            name=UNNAMED_SERVICE,
            description="Appointments from the clinic's own system that name no service offered here",
            aliases=[],
            duration_minutes=30,
            buffer_minutes=0,
            active=False,
        )
        .on_conflict_do_nothing(constraint="services_tenant_name_key")
    )
    return (
        await session.scalars(
            select(Service).where(Service.tenant_id == tenant.id, Service.name == UNNAMED_SERVICE)
        )
    ).one()
