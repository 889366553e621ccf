"""The catalogue of a tenant: providers with their weekly hours, services and who gives them,
closures. Created with the tenant, read by availability, the API and the receptionist."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.errors import NotFound
from backend.core.schemas import WEEKDAYS
from backend.scheduling.models import Closure, Provider, Service, ServiceProvider, WeeklyHours
from backend.scheduling.schemas import ClosureIn, ProviderIn, ServiceIn


@dataclass(frozen=True)
class Catalogue:
    providers: list[Provider]
    hours: dict[uuid.UUID, list[WeeklyHours]]
    services: list[Service]
    service_providers: dict[uuid.UUID, list[uuid.UUID]]


async def create(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    provider_specs: Sequence[ProviderIn],
    service_specs: Sequence[ServiceIn],
    closure_specs: Sequence[ClosureIn],
) -> Catalogue:
    """A new tenant's providers, hours, services and closures, in the caller's transaction."""
    providers = [
        Provider(id=uuid.uuid4(), tenant_id=tenant_id, name=p.name, kind=p.kind) for p in provider_specs
    ]
    session.add_all(providers)
    by_name = {p.name: p for p in providers}
    hours: dict[uuid.UUID, list[WeeklyHours]] = defaultdict(list)
    for provider, spec in zip(providers, provider_specs, strict=True):
        for h in spec.hours:
            row = WeeklyHours(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                provider_id=provider.id,
                weekday=WEEKDAYS.index(h.weekday),
                opens_at=h.opens_at,
                closes_at=h.closes_at,
            )
            hours[provider.id].append(row)
            session.add(row)

    services = []
    links: dict[uuid.UUID, list[uuid.UUID]] = {}
    for spec in service_specs:
        service = new_service(tenant_id, spec)
        services.append(service)
        links[service.id] = [by_name[name].id for name in spec.providers]
    session.add_all(services)
    await session.flush()
    session.add_all(
        ServiceProvider(service_id=service_id, provider_id=provider_id)
        for service_id, provider_ids in links.items()
        for provider_id in provider_ids
    )
    for closure in closure_specs:
        session.add(_new_closure(tenant_id, closure, by_name))

    return Catalogue(providers, hours, services, links)


async def list_providers(
    session: AsyncSession, tenant: TenantContext
) -> tuple[list[Provider], dict[uuid.UUID, list[WeeklyHours]]]:
    providers = list(
        (
            await session.execute(
                select(Provider).where(Provider.tenant_id == tenant.id).order_by(Provider.name)
            )
        ).scalars()
    )
    hours: dict[uuid.UUID, list[WeeklyHours]] = defaultdict(list)
    rows = await session.execute(
        select(WeeklyHours)
        .where(WeeklyHours.tenant_id == tenant.id)
        .order_by(WeeklyHours.weekday, WeeklyHours.opens_at)
    )
    for row in rows.scalars():
        hours[row.provider_id].append(row)
    return providers, hours


# What every chat turn reads of the practice, built once: building it cost more than running it.
_SERVICES = select(Service).where(Service.tenant_id == bindparam("tenant_id")).order_by(Service.name)
_ACTIVE_SERVICES = _SERVICES.where(Service.active)
_LINKS = select(ServiceProvider.service_id, ServiceProvider.provider_id).where(
    ServiceProvider.service_id.in_(bindparam("service_ids", expanding=True))
)
_ACTIVE_PROVIDERS = (
    select(Provider.id, Provider.name)
    .where(Provider.tenant_id == bindparam("tenant_id"), Provider.active)
    .order_by(Provider.name)
)
_OPENING_HOURS = (
    select(WeeklyHours.weekday, WeeklyHours.opens_at, WeeklyHours.closes_at)
    .join(Provider, Provider.id == WeeklyHours.provider_id)
    .where(WeeklyHours.tenant_id == bindparam("tenant_id"), Provider.active)
)
_PRACTICE_CLOSURES = (
    select(Closure.starts_at, Closure.ends_at, Closure.reason)
    .where(
        Closure.tenant_id == bindparam("tenant_id"),
        Closure.provider_id.is_(None),
        Closure.ends_at > bindparam("after"),
    )
    .order_by(Closure.starts_at)
    .limit(50)
)


async def list_services(
    session: AsyncSession, tenant: TenantContext, *, with_inactive: bool = False
) -> tuple[list[Service], dict[uuid.UUID, list[uuid.UUID]]]:
    query = _SERVICES if with_inactive else _ACTIVE_SERVICES
    services = list((await session.execute(query, {"tenant_id": tenant.id})).scalars())
    links: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    rows = await session.execute(_LINKS, {"service_ids": [s.id for s in services]})
    for service_id, provider_id in rows:
        links[service_id].append(provider_id)
    return services, links


async def add_closure(session: AsyncSession, caller: Caller, data: ClosureIn) -> Closure:
    by_name: dict[str, Provider] = {}
    if data.provider is not None:
        provider = (
            await session.execute(
                select(Provider).where(Provider.tenant_id == caller.tenant.id, Provider.name == data.provider)
            )
        ).scalar_one_or_none()
        if provider is None:
            raise NotFound(f"provider {data.provider!r} not found", details={"provider": data.provider})
        by_name[provider.name] = provider
    closure = _new_closure(caller.tenant.id, data, by_name)
    session.add(closure)
    await session.flush()
    audit.record(
        session,
        caller,
        "closure.created",
        "closure",
        closure.id,
        {"starts_at": closure.starts_at.isoformat(), "ends_at": closure.ends_at.isoformat()},
    )
    return closure


async def list_closures(session: AsyncSession, tenant: TenantContext) -> list[Closure]:
    rows = await session.execute(
        select(Closure).where(Closure.tenant_id == tenant.id).order_by(Closure.starts_at, Closure.id)
    )
    return list(rows.scalars())


async def delete_closure(session: AsyncSession, caller: Caller, closure_id: uuid.UUID) -> None:
    closure = (
        await session.execute(
            select(Closure).where(Closure.id == closure_id, Closure.tenant_id == caller.tenant.id)
        )
    ).scalar_one_or_none()
    if closure is None:
        raise NotFound(f"closure {closure_id} not found", details={"closure_id": str(closure_id)})
    await session.delete(closure)
    audit.record(session, caller, "closure.deleted", "closure", closure_id)


def new_service(tenant_id: uuid.UUID, spec: ServiceIn) -> Service:
    return Service(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=spec.name,
        description=spec.description,
        aliases=spec.aliases,
        duration_minutes=spec.duration_minutes,
        buffer_minutes=spec.buffer_minutes,
    )


def _new_closure(tenant_id: uuid.UUID, spec: ClosureIn, providers_by_name: dict[str, Provider]) -> Closure:
    return Closure(
        tenant_id=tenant_id,
        provider_id=providers_by_name[spec.provider].id if spec.provider else None,
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        reason=spec.reason,
    )


async def active_providers(session: AsyncSession, tenant: TenantContext) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(_ACTIVE_PROVIDERS, {"tenant_id": tenant.id})
    return [(provider_id, name) for provider_id, name in rows]


async def opening_hours(session: AsyncSession, tenant: TenantContext) -> list[tuple[int, time, time]]:
    """(weekday, opens, closes) of every active provider's weekly hours."""
    rows = await session.execute(_OPENING_HOURS, {"tenant_id": tenant.id})
    return [(weekday, opens, closes) for weekday, opens, closes in rows]


async def practice_closures(
    session: AsyncSession, tenant: TenantContext, after: datetime
) -> list[tuple[datetime, datetime, str]]:
    """(starts, ends, reason) of the closures of the whole practice that end after `after`."""
    rows = await session.execute(_PRACTICE_CLOSURES, {"tenant_id": tenant.id, "after": after})
    return [(starts, ends, reason) for starts, ends, reason in rows]
