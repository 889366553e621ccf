"""The customer row in an export, and its erasure: the row stays (appointments keep a patient)
with nothing left that identifies the person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.privacy import Person
from backend.customers.models import Customer

ERASED_NAME = "Erased patient"


def held_about(customer: Customer) -> dict[str, Any]:
    return {
        "id": str(customer.id),
        "name": customer.name,
        "phone": customer.phone,
        "email": customer.email,
        "consent": {
            "sms": {
                "granted": customer.sms_consent,
                "source": customer.sms_consent_source,
                "at": customer.sms_consent_at,
            },
            "email": {
                "granted": customer.email_consent,
                "source": customer.email_consent_source,
                "at": customer.email_consent_at,
            },
        },
        "created_at": customer.created_at,
        "erased_at": customer.erased_at,
    }


def person(customer: Customer) -> Person:
    return Person(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        phones=frozenset([customer.phone] if customer.phone else []),
        emails=frozenset([customer.email] if customer.email else []),
    )


async def forget(session: AsyncSession, customer: Customer, now: datetime) -> None:
    customer.name, customer.phone, customer.email = ERASED_NAME, None, None
    customer.sms_consent = customer.email_consent = False
    customer.sms_consent_source = customer.email_consent_source = "erased"
    customer.sms_consent_at = customer.email_consent_at = now
    customer.erased_at = now
    await session.flush()
