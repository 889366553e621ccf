"""Customers of a tenant, found by phone or e-mail so a returning patient is one record."""

from __future__ import annotations

import uuid

import phonenumbers
from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.core.errors import ValidationFailed
from backend.customers.models import Customer
from backend.customers.schemas import CustomerIn


def normalize_phone(raw: str, default_country: str, field: str = "customer.phone") -> str:
    """E.164 form of a phone number written in any common way; ValidationFailed if it is not one."""
    try:
        parsed = phonenumbers.parse(raw, default_country)
    except phonenumbers.NumberParseException as error:
        raise ValidationFailed(field, f"{raw!r} is not a phone number") from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(field, f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def find_or_create(session: AsyncSession, tenant: TenantContext, data: CustomerIn) -> Customer:
    phone = normalize_phone(data.phone, tenant.settings.default_country) if data.phone else None
    email = data.email.lower() if data.email else None
    if phone:
        # One customer per phone number; a concurrent first booking of the same patient merges here.
        statement = (
            insert(Customer)
            .values(
                tenant_id=tenant.id,
                name=data.name,
                phone=phone,
                email=email,
                sms_consent=data.sms_consent,
                email_consent=data.email_consent,
            )
            .on_conflict_do_update(
                index_elements=[Customer.tenant_id, Customer.phone],
                index_where=Customer.phone.is_not(None),
                set_={"email": func.coalesce(Customer.email, email)},
            )
            .returning(Customer)
        )
        return (await session.execute(statement)).scalar_one()
    existing = (
        await session.execute(
            select(Customer)
            .where(Customer.tenant_id == tenant.id, func.lower(Customer.email) == email)
            .order_by(Customer.created_at)
            .limit(1)
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    customer = Customer(
        tenant_id=tenant.id,
        name=data.name,
        email=email,
        sms_consent=data.sms_consent,
        email_consent=data.email_consent,
    )
    session.add(customer)
    await session.flush()
    return customer


async def get(session: AsyncSession, customer_id: uuid.UUID) -> Customer:
    return await session.get_one(Customer, customer_id)


def with_contact(tenant_id: uuid.UUID, phone: str | None, email: str | None) -> Select[tuple[uuid.UUID]]:
    """The ids of a tenant's customers with this phone (E.164) and/or e-mail, for another domain's
    query to filter by (`WHERE customer_id IN (...)`)."""
    query = select(Customer.id).where(Customer.tenant_id == tenant_id)
    if phone is not None:
        query = query.where(Customer.phone == phone)
    if email is not None:
        query = query.where(Customer.email == email.strip().lower())
    return query
