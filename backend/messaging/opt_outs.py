"""Who said STOP: the numbers of a tenant that must not be sent texts, by keyword or carrier report."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller
from backend.customers import service as customers
from backend.messaging.models import SmsOptOut
from backend.tenants import service as tenants

_OPTED_OUT = select(SmsOptOut.phone).where(
    SmsOptOut.tenant_id == bindparam("tenant_id"), SmsOptOut.phone == bindparam("phone")
)


async def is_opted_out(session: AsyncSession, tenant_id: uuid.UUID, phone: str) -> bool:
    found = await session.execute(_OPTED_OUT, {"tenant_id": tenant_id, "phone": phone})
    return found.first() is not None


async def opted_out_among(
    session: AsyncSession, numbers: set[tuple[uuid.UUID, str]]
) -> set[tuple[uuid.UUID, str]]:
    """Which of these (tenant, phone) pairs have opted out: one statement for a whole batch."""
    if not numbers:
        return set()
    found = await session.execute(
        select(SmsOptOut.tenant_id, SmsOptOut.phone).where(
            tuple_(SmsOptOut.tenant_id, SmsOptOut.phone).in_(sorted(numbers))
        )
    )
    return {(tenant_id, phone) for tenant_id, phone in found}


async def record_opt_out(session: AsyncSession, tenant_id: uuid.UUID, phone: str, source: str) -> None:
    await session.execute(
        insert(SmsOptOut)
        .values(tenant_id=tenant_id, phone=phone, source=source)
        .on_conflict_do_nothing(index_elements=[SmsOptOut.tenant_id, SmsOptOut.phone])
    )


async def record_opt_in(session: AsyncSession, tenant_id: uuid.UUID, phone: str) -> None:
    """The number texted START: it may be sent texts again."""
    await session.execute(delete(SmsOptOut).where(SmsOptOut.tenant_id == tenant_id, SmsOptOut.phone == phone))


async def carrier_opt_out(
    session: AsyncSession, tenant_id: uuid.UUID, phone: str, correlation_id: str | None, now: datetime
) -> None:
    """The carrier says the number unsubscribed (Twilio 21610): opted out here too, and its SMS
    consent withdrawn (which the customers domain announces as `customer.opted_out`)."""
    await record_opt_out(session, tenant_id, phone, "carrier")
    caller = Caller(await tenants.get_context(session, tenant_id), "carrier", correlation_id or "carrier")
    await customers.set_sms_consent_by_phone(session, caller, phone, False, "carrier", now)
