"""A tenant's webhook endpoints: registering, changing, rotating secrets, removing, and the replays
and delivery log an integrator works with."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, cursors, events
from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.core.settings import Settings
from backend.events import circuits, envelopes, signing_secrets, targets
from backend.events.alerts import shown_url
from backend.events.models import WebhookDelivery, WebhookEndpoint
from backend.events.schemas import EndpointCreate, EndpointPatch, ReplayIn

MAX_ENDPOINTS = 20
MAX_REPLAY = 10_000


def _checked_url(settings: Settings, url: str) -> str:
    target = targets.parse(url, production=settings.environment == "production")
    if not settings.webhooks_reach_private_networks:
        targets.refuse_private_literal(target)
    return url


async def create(
    session: AsyncSession, caller: Caller, settings: Settings, data: EndpointCreate
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint, receiving events from now on, and its secret (shown to the caller once)."""
    url = _checked_url(settings, data.url)
    types = envelopes.check_types(data.event_types, "event_types")
    count = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.tenant_id == caller.tenant.id)
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(f"a clinic has at most {MAX_ENDPOINTS} webhook endpoints; remove one first")
    start = await events.head(session)
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        tenant_id=caller.tenant.id,
        url=url,
        description=data.description,
        event_types=types,
        payload=data.payload,
        enabled=True,
        cursor_xid=start.xid,
        cursor_id=start.id,
        failures=0,
    )
    secret = signing_secrets.new()
    endpoint.secret = signing_secrets.seal(settings.key_ring, endpoint, secret)
    session.add(endpoint)
    await session.flush()
    audit.record(
        session,
        caller,
        "webhook_endpoint.created",
        "webhook_endpoint",
        endpoint.id,
        {"url": shown_url(url), "event_types": types, "payload": data.payload},
    )
    return endpoint, secret


async def get(
    session: AsyncSession, tenant: TenantContext, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.tenant_id == tenant.id
    )
    endpoint = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return endpoint


async def list_for(session: AsyncSession, tenant: TenantContext) -> list[WebhookEndpoint]:
    rows = await session.execute(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant.id)
        .order_by(WebhookEndpoint.created_at)
    )
    return list(rows.scalars())


async def update(
    session: AsyncSession, caller: Caller, settings: Settings, endpoint_id: uuid.UUID, data: EndpointPatch
) -> WebhookEndpoint:
    endpoint = await get(session, caller.tenant, endpoint_id, lock=True)
    changed = data.model_dump(exclude_unset=True)
    if data.url is not None:
        endpoint.url = _checked_url(settings, data.url)
    if data.description is not None:
        endpoint.description = data.description
    if data.event_types is not None:
        endpoint.event_types = envelopes.check_types(data.event_types, "event_types")
    if data.payload is not None:
        endpoint.payload = data.payload
    if data.enabled is True and not endpoint.enabled:
        # Back on: from now on, with a closed circuit. What it missed is a replay away.
        start = await events.head(session)
        endpoint.enabled, endpoint.disabled_reason = True, None
        endpoint.cursor_xid, endpoint.cursor_id = start.xid, start.id
        circuits.reset(endpoint)
    elif data.enabled is False and endpoint.enabled:
        endpoint.enabled, endpoint.disabled_reason = False, "switched off by the clinic"
    if "url" in changed:
        changed["url"] = shown_url(endpoint.url)
    audit.record(session, caller, "webhook_endpoint.changed", "webhook_endpoint", endpoint.id, changed)
    await session.flush()
    return endpoint


async def delete(session: AsyncSession, caller: Caller, endpoint_id: uuid.UUID) -> None:
    endpoint = await get(session, caller.tenant, endpoint_id, lock=True)
    await session.delete(endpoint)
    audit.record(
        session,
        caller,
        "webhook_endpoint.deleted",
        "webhook_endpoint",
        endpoint_id,
        {"url": shown_url(endpoint.url)},
    )


async def rotate_secret(
    session: AsyncSession,
    caller: Caller,
    settings: Settings,
    endpoint_id: uuid.UUID,
    overlap: timedelta,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """A new secret at once; the old one keeps signing beside it for `overlap`, so a receiver can
    switch over without dropping a delivery."""
    endpoint = await get(session, caller.tenant, endpoint_id, lock=True)
    secret = signing_secrets.new()
    if overlap > timedelta(0):
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret = endpoint.previous_secret_expires_at = None
    endpoint.secret = signing_secrets.seal(settings.key_ring, endpoint, secret)
    audit.record(
        session,
        caller,
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint",
        endpoint.id,
        {"overlap_hours": overlap.total_seconds() / 3600},
    )
    await session.flush()
    return endpoint, secret


# ---- the delivery log and replays ----


async def deliveries(
    session: AsyncSession,
    tenant: TenantContext,
    endpoint_id: uuid.UUID,
    *,
    statuses: list[str],
    event_type: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[WebhookDelivery], str | None]:
    """Newest first, a page at a time."""
    await get(session, tenant, endpoint_id)
    query = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.tenant_id == tenant.id
    )
    if statuses:
        query = query.where(WebhookDelivery.status.in_(statuses))
    if event_type is not None:
        query = query.where(WebhookDelivery.event_type == event_type)
    return await cursors.newest_first(
        session, query, WebhookDelivery.created_at, WebhookDelivery.id, limit=limit, cursor=cursor
    )


async def replay(
    session: AsyncSession, caller: Caller, endpoint_id: uuid.UUID, data: ReplayIn, now: datetime
) -> tuple[uuid.UUID, int]:
    """Queue again one delivery, one event, or every event of a time range the endpoint wants.
    Replays keep the event's `webhook-id`: a receiver that has it already can tell."""
    endpoint = await get(session, caller.tenant, endpoint_id)
    if not endpoint.enabled:
        raise Conflict("this endpoint is switched off; enable it before replaying to it")
    replay_id = uuid.uuid4()
    if data.delivery_id is not None:
        original = await session.scalar(
            select(WebhookDelivery).where(
                WebhookDelivery.id == data.delivery_id, WebhookDelivery.endpoint_id == endpoint.id
            )
        )
        if original is None:
            raise NotFound(f"delivery {data.delivery_id} not found for this endpoint")
        rows = [
            _queued(endpoint, original.event_id, original.message_id, original.event_type, replay_id, now)
        ]
        rows[0]["payload"] = original.payload
    elif data.event_id is not None:
        number = envelopes.parse_event_id(data.event_id)
        found = await events.by_ids(session, caller.tenant.id, [number]) if number is not None else []
        if not found:
            raise NotFound(f"event {data.event_id!r} not found")
        rows = [
            _queued(endpoint, found[0].id, envelopes.event_id(found[0].id), found[0].type, replay_id, now)
        ]
    else:
        assert data.since is not None and data.until is not None
        types = envelopes.expand(endpoint.event_types) if endpoint.event_types else None
        found = await events.between(
            session, caller.tenant.id, data.since, data.until, types=types, limit=MAX_REPLAY + 1
        )
        if len(found) > MAX_REPLAY:
            raise ValidationFailed(
                "since", f"more than {MAX_REPLAY} events in this range; replay it in parts"
            )
        rows = [_queued(endpoint, e.id, envelopes.event_id(e.id), e.type, replay_id, now) for e in found]
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
    audit.record(
        session,
        caller,
        "webhook_endpoint.replayed",
        "webhook_endpoint",
        endpoint.id,
        {"replay_id": str(replay_id), "queued": len(rows), **data.model_dump(mode="json", exclude_none=True)},
    )
    return replay_id, len(rows)


def _queued(
    endpoint: WebhookEndpoint,
    event_id: int | None,
    message_id: str,
    event_type: str,
    replay_id: uuid.UUID,
    now: datetime,
) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": endpoint.tenant_id,
        "endpoint_id": endpoint.id,
        "event_id": event_id,
        "message_id": message_id,
        "event_type": event_type,
        "payload": None,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "replay_id": replay_id,
    }
