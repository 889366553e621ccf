"""Tenants: creating one (with its catalogue and first key), its settings, finding it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import UNIQUE_VIOLATION, sqlstate
from backend.core.errors import Conflict, ValidationFailed
from backend.core.schemas import TenantSettings
from backend.scheduling import catalog
from backend.tenants import api_keys
from backend.tenants.api_keys import IssuedKey
from backend.tenants.models import Tenant
from backend.tenants.schemas import TenantCreate, TenantProfilePatch


@dataclass(frozen=True)
class CreatedTenant:
    tenant: Tenant
    catalogue: catalog.Catalogue
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

    catalogue = await catalog.create(session, tenant.id, data.providers, data.services, data.closures)
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
            "providers": len(catalogue.providers),
            "services": len(catalogue.services),
            "api_key_prefix": issued.row.prefix,
        },
    )
    await session.flush()
    return CreatedTenant(tenant, catalogue, issued)


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
        raise ValidationFailed(f"settings.{field}", problem["msg"].removeprefix("Value error, ")) from error
    tenant.settings = settings.model_dump(mode="json")
    audit.record(
        session, caller, "tenant.settings_changed", "tenant", tenant.id, {"changed": sorted(changes)}
    )
    return TenantContext.of(tenant)


async def update_profile(session: AsyncSession, caller: Caller, data: TenantProfilePatch) -> TenantContext:
    tenant = await session.get_one(Tenant, caller.tenant.id, with_for_update=True)
    changed = data.model_dump(exclude_none=True)
    for field, value in changed.items():
        setattr(tenant, field, value)
    audit.record(session, caller, "tenant.profile_changed", "tenant", tenant.id, changed)
    return TenantContext.of(tenant)


async def get_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()


_PRACTICE_CHANGED = (
    update(Tenant.__table__)
    .where(Tenant.__table__.c.id == bindparam("tenant_id"))
    .values(practice_revision=Tenant.__table__.c.practice_revision + 1)
)


async def practice_changed(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """What the receptionist is told about the practice changed in this transaction: processes that
    keep a copy read it again once it commits."""
    await session.execute(_PRACTICE_CHANGED, {"tenant_id": tenant_id})


async def every_tenant(session: AsyncSession) -> list[TenantContext]:
    """Every clinic, for work the worker does for each in turn (the nightly retention purge)."""
    return [
        TenantContext.of(row) for row in await session.scalars(select(Tenant).order_by(Tenant.created_at))
    ]
