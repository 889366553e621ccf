"""Customers of a tenant, found by phone or e-mail so a returning patient is one record."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import datetime

import phonenumbers
from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.context import Caller, TenantContext
from backend.core.errors import NotFound, ValidationFailed
from backend.core.event_catalogue import CustomerOptedIn, CustomerOptedOut
from backend.customers.models import Customer
from backend.customers.schemas import CustomerIn

# How a phone number may be written: digits, the separators people type, and a leading "+". No
# letters: an extension ("x12", "ext. 12") cannot be kept in the E.164 form we store, text and call,
# so it is refused rather than silently dropped; nor are "tel:" prefixes or letters for digits.
_WRITTEN_PHONE = re.compile(r"\s*[+0-9(][0-9 ().\-/]*")


@functools.lru_cache(maxsize=4096)  # a pure function of its arguments, and parsing is not cheap
def normalize_phone(raw: str, default_country: str, field: str = "customer.phone") -> str:
    """E.164 form of a phone number written in any common way; ValidationFailed if it is not one."""
    if not _WRITTEN_PHONE.fullmatch(raw):
        raise ValidationFailed(
            field,
            "write a phone number with digits, spaces and ( ) . - / only, and no extension: "
            "we text and call the number itself",
        )
    try:
        parsed = phonenumbers.parse(raw, default_country)
    except phonenumbers.NumberParseException as error:
        raise ValidationFailed(field, f"{raw!r} is not a phone number") from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(field, f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _upsert_by_phone() -> Insert:
    """Built once: building it per booking cost more than running it."""
    statement = insert(Customer)
    return statement.on_conflict_do_update(
        index_elements=[Customer.tenant_id, Customer.phone],
        index_where=Customer.phone.is_not(None),
        set_={"email": func.coalesce(Customer.email, statement.excluded.email)},
    ).returning(Customer, literal_column("xmax = 0"))


_UPSERT_BY_PHONE = _upsert_by_phone()


async def find_or_create(
    session: AsyncSession, caller: Caller, data: CustomerIn, *, source: str, now: datetime
) -> Customer:
    """The customer with this phone (or else e-mail), made if new. Consent is recorded with where it
    came from (`source`: chat | api); for a returning patient it changes only when it was said (a
    chat answer, or fields the API request set), and every change is audited."""
    tenant = caller.tenant
    phone = normalize_phone(data.phone, tenant.settings.default_country) if data.phone else None
    email = data.email.lower() if data.email else None
    given = {
        "tenant_id": tenant.id,
        "name": data.name,
        "phone": phone,
        "email": email,
        "sms_consent": data.sms_consent,
        "email_consent": data.email_consent,
        "sms_consent_source": source,
        "sms_consent_at": now,
        "email_consent_source": source,
        "email_consent_at": now,
    }
    if phone:
        # One customer per phone number; a concurrent first booking of the same patient merges here.
        customer, created = (await session.execute(_UPSERT_BY_PHONE, given)).one()
    else:
        customer = (
            await session.execute(
                select(Customer)
                .where(Customer.tenant_id == tenant.id, func.lower(Customer.email) == email)
                .order_by(Customer.created_at)
                .limit(1)
            )
        ).scalar_one_or_none()
        created = customer is None
        if customer is None:
            customer = Customer(**given)
            session.add(customer)
            await session.flush()
    said = source != "api" or bool({"sms_consent", "email_consent"} & data.model_fields_set)
    if created:
        for channel in ("sms", "email"):
            if getattr(customer, f"{channel}_consent"):
                _publish_consent(session, caller, customer, channel, True, source)
    elif said:
        await set_consent(
            session, caller, customer, {"sms": data.sms_consent, "email": data.email_consent}, source, now
        )
    return customer


async def set_consent(
    session: AsyncSession,
    caller: Caller,
    customer: Customer,
    changes: dict[str, bool],
    source: str,
    now: datetime,
) -> None:
    """Give or withdraw consent per channel (sms | email); each change is audited with its source."""
    for channel, granted in changes.items():
        if getattr(customer, f"{channel}_consent") == granted:
            continue
        setattr(customer, f"{channel}_consent", granted)
        setattr(customer, f"{channel}_consent_source", source)
        setattr(customer, f"{channel}_consent_at", now)
        audit.record(
            session,
            caller,
            "customer.consent_changed",
            "customer",
            customer.id,
            {"channel": channel, "granted": granted, "source": source},
        )
        _publish_consent(session, caller, customer, channel, granted, source)


def _publish_consent(
    session: AsyncSession, caller: Caller, customer: Customer, channel: str, granted: bool, source: str
) -> None:
    event = CustomerOptedIn if granted else CustomerOptedOut
    events.emit(session, caller, event(customer_id=customer.id, channel=channel, source=source))


async def set_sms_consent_by_phone(
    session: AsyncSession, caller: Caller, phone: str, granted: bool, source: str, now: datetime
) -> None:
    """A START or STOP from a number: the consent of the tenant's customer with that number follows."""
    customer = (
        await session.execute(
            select(Customer).where(Customer.tenant_id == caller.tenant.id, Customer.phone == phone)
        )
    ).scalar_one_or_none()
    if customer is not None:
        await set_consent(session, caller, customer, {"sms": granted}, source, now)


async def find(session: AsyncSession, tenant: TenantContext, customer_id: uuid.UUID) -> Customer:
    customer = (
        await session.execute(
            select(Customer).where(Customer.tenant_id == tenant.id, Customer.id == customer_id)
        )
    ).scalar_one_or_none()
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
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


async def by_ids(session: AsyncSession, tenant_id: uuid.UUID, ids: set[uuid.UUID]) -> list[Customer]:
    if not ids:
        return []
    rows = await session.execute(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.id.in_(ids))
    )
    return list(rows.scalars())


async def name_on_file(session: AsyncSession, tenant: TenantContext, phone: str) -> str | None:
    """The name of the tenant's customer with this phone number, when exactly one has it."""
    names = (
        await session.execute(
            select(Customer.name).where(
                Customer.tenant_id == tenant.id, Customer.phone == phone, Customer.erased_at.is_(None)
            )
        )
    ).scalars()
    found = {name for name in names if name}
    return found.pop() if len(found) == 1 else None
