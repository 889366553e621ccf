"""Everything held about a patient, and erasing it, across every domain in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import privacy as conversation_records
from backend.core import audit, events
from backend.core.context import Caller
from backend.core.errors import Conflict
from backend.core.event_catalogue import CustomerErased
from backend.core.privacy import forget_in_records
from backend.customers import privacy as customer_records
from backend.customers.service import find
from backend.messaging import privacy as message_records
from backend.scheduling import privacy as appointment_records
from backend.telephony import privacy as phone_records

EXPORT_VERSION = 1


async def export(
    session: AsyncSession, caller: Caller, customer_id: uuid.UUID, now: datetime, *, as_download: bool = True
) -> dict[str, Any]:
    """Everything held about the patient, read: audited as a download (`patient.exported`) or, for
    the profile page showing it, as a view (`patient.viewed`): who and when, never what was read."""
    customer = await find(session, caller.tenant, customer_id)
    person = customer_records.person(customer)
    exported = {
        "format": f"frontdesk.patient-export.v{EXPORT_VERSION}",
        "clinic": caller.tenant.name,
        "exported_at": now,
        "patient": customer_records.held_about(customer),
        **await appointment_records.held_about(session, person),
        "conversations": await conversation_records.held_about(session, person),
        **await message_records.held_about(session, person),
        **await phone_records.held_about(session, person),
    }
    audit.record(
        session, caller, "patient.exported" if as_download else "patient.viewed", "customer", customer.id
    )
    return exported


async def erase(session: AsyncSession, caller: Caller, customer_id: uuid.UUID, now: datetime) -> None:
    """Remove or redact the person everywhere; their appointments stay as anonymous rows."""
    customer = await find(session, caller.tenant, customer_id)
    if customer.erased_at is not None:
        raise Conflict(
            "this patient's data was already erased", details={"erased_at": customer.erased_at.isoformat()}
        )
    person = customer_records.person(customer)
    appointment_ids = await appointment_records.forget(session, person)
    conversation_ids = await conversation_records.forget(session, person)
    await message_records.forget(session, person)
    await phone_records.forget(session, person)
    await forget_in_records(session, person, [*appointment_ids, *conversation_ids])
    await customer_records.forget(session, customer, now)
    audit.record(
        session,
        caller,
        "customer.erased",
        "customer",
        customer.id,
        {"appointments": len(appointment_ids), "conversations": len(conversation_ids)},
    )
    events.emit(session, caller, CustomerErased(customer_id=customer.id))
    await session.flush()
