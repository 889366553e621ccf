"""Changing the catalogue after onboarding: providers, their weekly hours and breaks, services.

Nothing booked is touched: a provider or service switched off takes no new bookings, and the
appointments already made stay on the schedule (the clinic contacts those patients itself).
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.core.schemas import WEEKDAYS
from backend.scheduling import external_ids
from backend.scheduling.catalog import new_service
from backend.scheduling.models import Provider, Service, ServiceProvider, WeeklyHours
from backend.scheduling.schemas import (
    HoursIn,
    ProviderIn,
    ProviderPatch,
    ServiceIn,
    ServicePatch,
)


async def find_provider(session: AsyncSession, caller: Caller, provider_id: uuid.UUID) -> Provider:
    found = await session.scalar(
        select(Provider).where(Provider.id == provider_id, Provider.tenant_id == caller.tenant.id)
    )
    if found is None:
        raise NotFound(f"provider {provider_id} not found", details={"provider_id": str(provider_id)})
    return found


async def _service(session: AsyncSession, caller: Caller, service_id: uuid.UUID) -> Service:
    found = await session.scalar(
        select(Service).where(Service.id == service_id, Service.tenant_id == caller.tenant.id)
    )
    if found is None:
        raise NotFound(f"service {service_id} not found", details={"service_id": str(service_id)})
    return found


async def _name_free(
    session: AsyncSession,
    caller: Caller,
    model: type[Provider] | type[Service],
    name: str,
    own: uuid.UUID | None,
) -> None:
    taken = await session.scalar(
        select(model.id).where(model.tenant_id == caller.tenant.id, model.name == name, model.id != own)
    )
    if taken is not None:
        raise Conflict(f"there is already one called {name!r}", details={"name": name, "id": str(taken)})


async def hours_of(session: AsyncSession, provider_id: uuid.UUID) -> list[WeeklyHours]:
    rows = await session.execute(
        select(WeeklyHours)
        .where(WeeklyHours.provider_id == provider_id)
        .order_by(WeeklyHours.weekday, WeeklyHours.opens_at)
    )
    return list(rows.scalars())


async def add_provider(session: AsyncSession, caller: Caller, spec: ProviderIn) -> Provider:
    await _name_free(session, caller, Provider, spec.name, None)
    provider = Provider(id=uuid.uuid4(), tenant_id=caller.tenant.id, name=spec.name, kind=spec.kind)
    session.add(provider)
    await session.flush()
    _add_hours(session, caller, provider.id, spec.hours)
    audit.record(session, caller, "provider.created", "provider", provider.id, {"name": spec.name})
    await session.flush()
    return provider


async def change_provider(
    session: AsyncSession, caller: Caller, provider_id: uuid.UUID, patch: ProviderPatch
) -> Provider:
    provider = await find_provider(session, caller, provider_id)
    changes = patch.model_dump(exclude_none=True)
    if (ids := changes.pop("external_ids", None)) is not None:
        await external_ids.replace(session, caller, "provider", provider.id, ids)
    if "name" in changes:
        await _name_free(session, caller, Provider, changes["name"], provider.id)
    for field, value in changes.items():
        setattr(provider, field, value)
    audit.record(session, caller, "provider.updated", "provider", provider.id, {"fields": sorted(changes)})
    await session.flush()
    return provider


async def set_hours(
    session: AsyncSession, caller: Caller, provider_id: uuid.UUID, hours: list[HoursIn]
) -> list[WeeklyHours]:
    """Replace the provider's week: the intervals given are the hours from now on."""
    provider = await find_provider(session, caller, provider_id)
    await session.execute(delete(WeeklyHours).where(WeeklyHours.provider_id == provider.id))
    _add_hours(session, caller, provider.id, hours)
    audit.record(session, caller, "provider.hours_set", "provider", provider.id, {"intervals": len(hours)})
    await session.flush()
    return await hours_of(session, provider.id)


def _add_hours(session: AsyncSession, caller: Caller, provider_id: uuid.UUID, hours: list[HoursIn]) -> None:
    session.add_all(
        WeeklyHours(
            tenant_id=caller.tenant.id,
            provider_id=provider_id,
            weekday=WEEKDAYS.index(h.weekday),
            opens_at=h.opens_at,
            closes_at=h.closes_at,
        )
        for h in hours
    )


async def add_service(
    session: AsyncSession, caller: Caller, spec: ServiceIn
) -> tuple[Service, list[uuid.UUID]]:
    await _name_free(session, caller, Service, spec.name, None)
    names = set(spec.providers)
    providers = {
        p.name: p.id
        for p in (
            await session.execute(
                select(Provider).where(Provider.tenant_id == caller.tenant.id, Provider.name.in_(names))
            )
        ).scalars()
    }
    unknown = sorted(names - providers.keys())
    if unknown:
        raise ValidationFailed("providers", f"no provider called {', '.join(map(repr, unknown))}")
    service = new_service(caller.tenant.id, spec)
    session.add(service)
    await session.flush()
    provider_ids = [providers[name] for name in spec.providers]
    session.add_all(ServiceProvider(service_id=service.id, provider_id=pid) for pid in provider_ids)
    audit.record(session, caller, "service.created", "service", service.id, {"name": spec.name})
    await session.flush()
    return service, provider_ids


async def change_service(
    session: AsyncSession, caller: Caller, service_id: uuid.UUID, patch: ServicePatch
) -> tuple[Service, list[uuid.UUID]]:
    service = await _service(session, caller, service_id)
    changes = patch.model_dump(exclude_none=True)
    if (ids := changes.pop("external_ids", None)) is not None:
        await external_ids.replace(session, caller, "service", service.id, ids)
    provider_ids = changes.pop("provider_ids", None)
    if "name" in changes:
        await _name_free(session, caller, Service, changes["name"], service.id)
    for field, value in changes.items():
        setattr(service, field, value)
    if provider_ids is not None:
        for provider_id in set(provider_ids):
            await find_provider(session, caller, provider_id)
        await session.execute(delete(ServiceProvider).where(ServiceProvider.service_id == service.id))
        session.add_all(
            ServiceProvider(service_id=service.id, provider_id=pid) for pid in dict.fromkeys(provider_ids)
        )
    fields = sorted([*changes, *(["provider_ids"] if provider_ids is not None else [])])
    audit.record(session, caller, "service.updated", "service", service.id, {"fields": fields})
    await session.flush()
    linked = await session.scalars(
        select(ServiceProvider.provider_id).where(ServiceProvider.service_id == service.id)
    )
    return service, list(linked)
