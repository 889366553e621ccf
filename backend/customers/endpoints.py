"""A customer (patient) as the clinic's software sees them, and their consent to texts and e-mails."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.deps import Db, Now
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.customers.schemas import ConsentOut, ConsentPatch, CustomerConsents, CustomerDetailOut
from backend.tenants.deps import TenantCaller

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])


def customer_detail(customer: Customer) -> CustomerDetailOut:
    return CustomerDetailOut(
        id=customer.id,
        name=customer.name,
        phone=customer.phone,
        email=customer.email,
        consent=CustomerConsents(
            sms=ConsentOut(
                granted=customer.sms_consent, source=customer.sms_consent_source, at=customer.sms_consent_at
            ),
            email=ConsentOut(
                granted=customer.email_consent,
                source=customer.email_consent_source,
                at=customer.email_consent_at,
            ),
        ),
    )


@router.get("/{customer_id}", response_model=CustomerDetailOut)
async def get_customer(customer_id: uuid.UUID, caller: TenantCaller, db: Db) -> CustomerDetailOut:
    """A customer with their consent to texts and e-mails: whether, where from, and since when."""

    async def work(session: AsyncSession) -> CustomerDetailOut:
        customer = await customers.find(session, caller.tenant, customer_id)
        audit.record(session, caller, "patient.viewed", "customer", customer.id)
        return customer_detail(customer)

    return await db.transaction(work)


@router.patch("/{customer_id}/consent", response_model=CustomerDetailOut)
async def change_consent(
    customer_id: uuid.UUID, body: ConsentPatch, caller: TenantCaller, db: Db, now: Now
) -> CustomerDetailOut:
    """Give or withdraw consent (the patient asked the clinic); audited with source `api`. A number
    that texted STOP still gets no texts until it texts START."""

    async def work(session: AsyncSession) -> CustomerDetailOut:
        customer = await customers.find(session, caller.tenant, customer_id)
        changes = {
            channel: granted
            for channel, granted in (("sms", body.sms), ("email", body.email))
            if granted is not None
        }
        await customers.set_consent(session, caller, customer, changes, "api", now)
        return customer_detail(customer)

    return await db.transaction(work)
