"""The tenants' Twilio numbers: inbound calls and texts are routed to a tenant by the number dialled."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict, NotFound
from backend.customers import service as customers
from backend.telephony.models import TenantPhoneNumber
from backend.tenants import service as tenants


async def add(session: AsyncSession, caller: Caller, number: str, label: str) -> TenantPhoneNumber:
    e164 = customers.normalize_phone(number, caller.tenant.settings.default_country, field="number")
    row = (
        await session.execute(
            insert(TenantPhoneNumber)
            .values(id=uuid.uuid4(), tenant_id=caller.tenant.id, number=e164, label=label)
            .on_conflict_do_nothing(index_elements=[TenantPhoneNumber.number])
            .returning(TenantPhoneNumber)
        )
    ).scalar_one_or_none()
    if row is None:
        # Whose it is stays private: another tenant's number is not this caller's business.
        raise Conflict(f"{e164} is already registered", details={"number": e164})
    audit.record(session, caller, "phone_number.added", "phone_number", row.id, {"number": e164})
    return row


async def list_for(session: AsyncSession, tenant_id: uuid.UUID) -> list[TenantPhoneNumber]:
    rows = await session.execute(
        select(TenantPhoneNumber)
        .where(TenantPhoneNumber.tenant_id == tenant_id)
        .order_by(TenantPhoneNumber.created_at, TenantPhoneNumber.id)
    )
    return list(rows.scalars())


async def remove(session: AsyncSession, caller: Caller, number_id: uuid.UUID) -> None:
    removed = (
        await session.execute(
            delete(TenantPhoneNumber)
            .where(TenantPhoneNumber.id == number_id, TenantPhoneNumber.tenant_id == caller.tenant.id)
            .returning(TenantPhoneNumber.number)
        )
    ).scalar_one_or_none()
    if removed is None:
        raise NotFound(f"phone number {number_id} not found")
    audit.record(session, caller, "phone_number.removed", "phone_number", number_id, {"number": removed})


async def tenant_for(session: AsyncSession, number: str) -> TenantContext | None:
    """The tenant a dialled number belongs to; None for a number nobody registered."""
    tenant_id = await session.scalar(
        select(TenantPhoneNumber.tenant_id).where(TenantPhoneNumber.number == number)
    )
    return await tenants.get_context(session, tenant_id) if tenant_id is not None else None


_PRIMARY = (
    select(TenantPhoneNumber.number)
    .where(TenantPhoneNumber.tenant_id == bindparam("tenant_id"))
    .order_by(TenantPhoneNumber.created_at, TenantPhoneNumber.id)
    .limit(1)
)


async def primary(session: AsyncSession, tenant_id: uuid.UUID) -> str | None:
    """The number a tenant's texts go out from: its first, so replies come back to the tenant."""
    return await session.scalar(_PRIMARY, {"tenant_id": tenant_id})
