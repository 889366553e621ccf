"""What a delivery POSTs: the event's envelope, built when it is sent, so a `full` endpoint gets the
customer's contact details as they are now (and nothing of a customer since erased), and a
`minimal` one only ids."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.events import StoredEvent
from backend.customers import service as customers
from backend.events import envelopes
from backend.events.models import WebhookDelivery, WebhookEndpoint


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


async def bodies(
    session: AsyncSession, rows: list[WebhookDelivery], endpoints: dict[uuid.UUID, WebhookEndpoint]
) -> dict[uuid.UUID, str]:
    """Each delivery's body: a ping's own payload, or its event's envelope."""
    wanted: dict[uuid.UUID, set[int]] = {}
    for row in rows:
        if row.event_id is not None:
            wanted.setdefault(row.tenant_id, set()).add(row.event_id)
    stored: dict[int, StoredEvent] = {}
    for tenant_id, ids in wanted.items():
        stored.update((event.id, event) for event in await events.by_ids(session, tenant_id, sorted(ids)))
    full = [stored[row.event_id] for row in rows if row.event_id in stored and _full(endpoints, row)]
    contacts = await _contacts(session, full)
    out = {}
    for row in rows:
        event = stored.get(row.event_id) if row.event_id is not None else None
        if event is None:
            out[row.id] = encode(row.payload or {"type": row.event_type})
            continue
        body = envelopes.envelope(event)
        if _full(endpoints, row):
            body["customer"] = contacts.get(event.data.get("customer_id") or "")
        out[row.id] = encode(body)
    return out


def _full(endpoints: dict[uuid.UUID, WebhookEndpoint], row: WebhookDelivery) -> bool:
    return endpoints[row.endpoint_id].payload == "full"


async def _contacts(session: AsyncSession, about: list[StoredEvent]) -> dict[str, dict[str, Any]]:
    wanted: dict[uuid.UUID, set[uuid.UUID]] = {}
    for event in about:
        customer_id = event.data.get("customer_id")
        if customer_id:
            wanted.setdefault(event.tenant_id, set()).add(uuid.UUID(customer_id))
    found = {}
    for tenant_id, ids in wanted.items():
        for customer in await customers.by_ids(session, tenant_id, ids):
            found[str(customer.id)] = envelopes.CustomerContact(
                id=customer.id, name=customer.name, phone=customer.phone, email=customer.email
            ).model_dump(mode="json")
    return found
