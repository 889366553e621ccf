"""Finding a clinic's patients: by part of the name, by phone, by e-mail (or by the ids another
domain found, e.g. from a booking reference), newest first, a page at a time; and correcting a
patient's contact details."""

from __future__ import annotations

import uuid
from collections.abc import Collection

import phonenumbers
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, cursors
from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict, ValidationFailed
from backend.customers.models import Customer
from backend.customers.service import find, normalize_phone


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _as_phone(text: str, country: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        return None
    return (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(parsed)
        else None
    )


async def search(
    session: AsyncSession,
    tenant: TenantContext,
    text: str | None,
    also_ids: Collection[uuid.UUID],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Customer], str | None]:
    query = select(Customer).where(Customer.tenant_id == tenant.id, Customer.erased_at.is_(None))
    if text:
        matches = [func.lower(Customer.name).like(_like(text.lower())), Customer.email.ilike(_like(text))]
        phone = _as_phone(text, tenant.settings.default_country)
        if phone is not None:
            matches.append(Customer.phone == phone)
        if also_ids:
            matches.append(Customer.id.in_(also_ids))
        query = query.where(or_(*matches))
    return await cursors.newest_first(
        session, query, Customer.created_at, Customer.id, limit=limit, cursor=cursor
    )


async def change_contact(
    session: AsyncSession,
    caller: Caller,
    customer_id: uuid.UUID,
    *,
    name: str | None,
    phone: str | None,
    email: str | None,
) -> Customer:
    """Correct the name, phone or e-mail ("" removes a phone or e-mail). Another patient of the
    clinic with that phone or e-mail is a conflict: merge them by hand, do not hide one."""
    customer = await find(session, caller.tenant, customer_id)
    if customer.erased_at is not None:
        raise Conflict("this patient's data was erased")
    changes: dict[str, str | None] = {}
    if name is not None:
        changes["name"] = name
    if phone is not None:
        changes["phone"] = (
            normalize_phone(phone, caller.tenant.settings.default_country, "phone") if phone else None
        )
    if email is not None:
        changes["email"] = email.strip().lower() or None
    for field in ("phone", "email"):
        value = changes.get(field)
        if value is None:
            continue
        other = await session.scalar(
            select(Customer.id).where(
                Customer.tenant_id == caller.tenant.id,
                getattr(Customer, field) == value,
                Customer.id != customer.id,
            )
        )
        if other is not None:
            raise Conflict(
                f"another patient has this {field}", details={"field": field, "customer_id": str(other)}
            )
    if ("phone" in changes or "email" in changes) and not (
        changes.get("phone", customer.phone) or changes.get("email", customer.email)
    ):
        raise ValidationFailed("phone", "a patient needs a phone number or an e-mail address")
    for field, value in changes.items():
        setattr(customer, field, value)
    audit.record(session, caller, "customer.updated", "customer", customer.id, {"fields": sorted(changes)})
    await session.flush()
    return customer
