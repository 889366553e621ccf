"""Tenants and their catalogue: providers with opening hours, services, closures."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import UNIQUE_VIOLATION, sqlstate
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.models import Closure, Provider, Service, ServiceProvider, Tenant, WeeklyHours
from backend.schemas import WEEKDAYS, ClosureIn, ServiceIn, TenantCreate, TenantSettings
from backend.services import api_keys, audit
from backend.services.api_keys import IssuedKey
from backend.services.context import Caller, TenantContext


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    providers: list[Provider]
    hours: dict[uuid.UUID, list[WeeklyHours]]
    services: list[Service]
    service_providers: dict[uuid.UUID, list[uuid.UUID]]
    api_key: IssuedKey


async def create_tenant(
    session: AsyncSession, data: TenantCreate, actor: str, correlation_id: str
) -> CreatedTenant:
    """The tenant, its whole catalogue and its first secret key, in the caller's one transaction."""
    if await get_by_slug(session, data.slug) is not None:
        raise Conflict(f"a tenant with slug {data.slug!r} already exists", details={"slug": data.slug})
    tenant = Tenant(
        id=uuid.uuid4(),
        slug=data.slug,
        name=data.name,
        timezone=data.timezone,
        profile=data.profile,
        settings=data.settings.model_dump(mode="json"),
    )
    session.add(tenant)
    try:
        await session.flush()
    except IntegrityError as error:
        if sqlstate(error) == UNIQUE_VIOLATION:  # a concurrent request took the slug first
            raise Conflict(
                f"a tenant with slug {data.slug!r} already exists", details={"slug": data.slug}
            ) from error
        raise

    providers = [
        Provider(id=uuid.uuid4(), tenant_id=tenant.id, name=p.name, kind=p.kind) for p in data.providers
    ]
    session.add_all(providers)
    by_name = {p.name: p for p in providers}
    hours: dict[uuid.UUID, list[WeeklyHours]] = defaultdict(list)
    for provider, spec in zip(providers, data.providers, strict=True):
        for h in spec.hours:
            row = WeeklyHours(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                provider_id=provider.id,
                weekday=WEEKDAYS.index(h.weekday),
                opens_at=h.opens_at,
                closes_at=h.closes_at,
            )
            hours[provider.id].append(row)
            session.add(row)

    services = []
    links: dict[uuid.UUID, list[uuid.UUID]] = {}
    for spec in data.services:
        service = _new_service(tenant.id, spec)
        services.append(service)
        links[service.id] = [by_name[name].id for name in spec.providers]
    session.add_all(services)
    await session.flush()
    session.add_all(
        ServiceProvider(service_id=service_id, provider_id=provider_id)
        for service_id, provider_ids in links.items()
        for provider_id in provider_ids
    )
    for closure in data.closures:
        session.add(_new_closure(tenant.id, closure, by_name))

    issued = await api_keys.issue(session, tenant.id, "secret", "first secret key")
    caller = Caller(tenant=TenantContext.of(tenant), actor=actor, correlation_id=correlation_id)
    audit.record(
        session,
        caller,
        "tenant.created",
        "tenant",
        tenant.id,
        {
            "slug": tenant.slug,
            "providers": len(providers),
            "services": len(services),
            "api_key_prefix": issued.row.prefix,
        },
    )
    await session.flush()
    return CreatedTenant(tenant, providers, hours, services, links, issued)


async def get_context(session: AsyncSession, tenant_id: uuid.UUID) -> TenantContext:
    """The tenant as a service sees it, for work that starts from a row (a worker job), not a key."""
    return TenantContext.of(await session.get_one(Tenant, tenant_id))


async def update_settings(session: AsyncSession, caller: Caller, changes: dict[str, object]) -> TenantContext:
    tenant = await session.get_one(Tenant, caller.tenant.id, with_for_update=True)
    merged = {**caller.tenant.settings.model_dump(mode="json"), **changes}
    try:
        settings = TenantSettings.model_validate(merged)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        raise ValidationFailed(f"settings.{field}", problem["msg"]) from error
    tenant.settings = settings.model_dump(mode="json")
    audit.record(
        session, caller, "tenant.settings_changed", "tenant", tenant.id, {"changed": sorted(changes)}
    )
    return TenantContext.of(tenant)


async def get_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()


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


async def list_services(
    session: AsyncSession, tenant: TenantContext
) -> tuple[list[Service], dict[uuid.UUID, list[uuid.UUID]]]:
    services = list(
        (
            await session.execute(
                select(Service).where(Service.tenant_id == tenant.id, Service.active).order_by(Service.name)
            )
        ).scalars()
    )
    links: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    rows = await session.execute(
        select(ServiceProvider.service_id, ServiceProvider.provider_id).where(
            ServiceProvider.service_id.in_([s.id for s in services])
        )
    )
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


def _new_service(tenant_id: uuid.UUID, spec: ServiceIn) -> Service:
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
