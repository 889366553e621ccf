"""The ids other systems use for our providers and services, per source: set once on the provider
or service, then used by the appointments those systems send."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict
from backend.scheduling.models import ExternalId

Kind = Literal["provider", "service"]


def _target(kind: Kind):  # noqa: ANN202 - one of two mapped columns
    return ExternalId.provider_id if kind == "provider" else ExternalId.service_id


async def replace(
    session: AsyncSession, caller: Caller, kind: Kind, target_id: uuid.UUID, ids: dict[str, str]
) -> dict[str, str]:
    """Make `ids` (source -> their id) the whole mapping of this provider or service."""
    tenant_id = caller.tenant.id
    column = _target(kind)
    taken = await session.execute(
        select(ExternalId.source, ExternalId.external_id, column).where(
            ExternalId.tenant_id == tenant_id,
            column.is_not(None),
            column != target_id,
            ExternalId.source.in_(list(ids)),
            ExternalId.external_id.in_(list(ids.values())),
        )
    )
    for source, external_id, other in taken:
        if ids.get(source) == external_id:
            raise Conflict(
                f"{source} id {external_id!r} already names another {kind}",
                details={"source": source, "external_id": external_id, f"{kind}_id": str(other)},
            )
    await session.execute(delete(ExternalId).where(ExternalId.tenant_id == tenant_id, column == target_id))
    session.add_all(
        ExternalId(tenant_id=tenant_id, source=source, external_id=external_id, **{f"{kind}_id": target_id})
        for source, external_id in ids.items()
    )
    await session.flush()
    audit.record(session, caller, f"{kind}.external_ids_set", kind, target_id, {"sources": sorted(ids)})
    return dict(ids)


async def of(
    session: AsyncSession, tenant: TenantContext, kind: Kind, target_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, str]]:
    """Each target's mapping (source -> their id)."""
    column = _target(kind)
    found: dict[uuid.UUID, dict[str, str]] = defaultdict(dict)
    if not target_ids:
        return found
    rows = await session.execute(
        select(column, ExternalId.source, ExternalId.external_id).where(
            ExternalId.tenant_id == tenant.id, column.in_(target_ids)
        )
    )
    for target, source, external_id in rows:
        found[target][source] = external_id
    return found


async def resolve(
    session: AsyncSession, tenant: TenantContext, kind: Kind, source: str, external_ids: set[str]
) -> dict[str, uuid.UUID]:
    """Our ids for these ids of `source`; ids nobody mapped are left out."""
    if not external_ids:
        return {}
    column = _target(kind)
    rows = await session.execute(
        select(ExternalId.external_id, column).where(
            ExternalId.tenant_id == tenant.id,
            ExternalId.source == source,
            column.is_not(None),
            ExternalId.external_id.in_(sorted(external_ids)),
        )
    )
    return {external_id: target for external_id, target in rows}
