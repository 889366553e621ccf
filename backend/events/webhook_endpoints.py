"""The webhooks API: a tenant's endpoints, their secrets, test pings, the delivery log and replays."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db, Now
from backend.core.schemas import error_responses
from backend.core.settings import Settings
from backend.events import envelopes, pings, subscriptions
from backend.events.models import WebhookDelivery, WebhookEndpoint
from backend.events.schemas import (
    DeliveryOut,
    DeliveryPage,
    EndpointCreate,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    ReplayIn,
    ReplayOut,
    RotateIn,
    SecretOut,
)
from backend.events.sender import WebhookSender
from backend.tenants.deps import OwnerCaller

router = APIRouter(prefix="/api/v1/webhook-endpoints", tags=["webhooks"])
DeliveryStatus = Literal["pending", "sending", "delivered", "retrying", "failed"]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut.model_validate(endpoint)


def delivery_out(row: WebhookDelivery) -> DeliveryOut:
    retrying = row.status in ("pending", "retrying")
    return DeliveryOut(
        id=row.id,
        event_id=envelopes.event_id(row.event_id) if row.event_id is not None else None,
        message_id=row.message_id,
        event_type=row.event_type,
        status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if retrying else None,
        response_status=row.response_status,
        response_body=row.response_body,
        latency_ms=row.latency_ms,
        error=row.error,
        replay_id=row.replay_id,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


@router.post("", status_code=201, response_model=EndpointWithSecret, responses=error_responses(401, 409, 422))
async def create_endpoint(body: EndpointCreate, caller: OwnerCaller, request: Request) -> JSONResponse:
    """Register a URL to receive events from now on. The response carries the signing secret,
    shown this once; deliveries are signed with it per Standard Webhooks."""

    async def work(session: AsyncSession) -> EndpointWithSecret:
        endpoint, secret = await subscriptions.create(session, caller, _settings(request), body)
        return EndpointWithSecret(**endpoint_out(endpoint).model_dump(), secret=secret)

    return await run_command(request, str(caller.tenant.id), work, status_code=201)


@router.get("", response_model=list[EndpointOut], responses=error_responses(401))
async def list_endpoints(caller: OwnerCaller, db: Db) -> list[EndpointOut]:
    rows = await db.transaction(lambda session: subscriptions.list_for(session, caller.tenant))
    return [endpoint_out(row) for row in rows]


@router.get("/{endpoint_id}", response_model=EndpointOut, responses=error_responses(401, 404))
async def get_endpoint(endpoint_id: uuid.UUID, caller: OwnerCaller, db: Db) -> EndpointOut:
    return endpoint_out(
        await db.transaction(lambda session: subscriptions.get(session, caller.tenant, endpoint_id))
    )


@router.patch("/{endpoint_id}", response_model=EndpointOut, responses=error_responses(401, 404, 422))
async def change_endpoint(
    endpoint_id: uuid.UUID, body: EndpointPatch, caller: OwnerCaller, db: Db, request: Request
) -> EndpointOut:
    """Change the URL, filter, payload or description; switch it off or on again."""

    async def work(session: AsyncSession) -> EndpointOut:
        return endpoint_out(
            await subscriptions.update(session, caller, _settings(request), endpoint_id, body)
        )

    return await db.transaction(work)


@router.delete("/{endpoint_id}", status_code=204, responses=error_responses(401, 404))
async def delete_endpoint(endpoint_id: uuid.UUID, caller: OwnerCaller, db: Db) -> Response:
    """Remove it with its delivery log; nothing more is sent to it."""
    await db.transaction(lambda session: subscriptions.delete(session, caller, endpoint_id))
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret", response_model=SecretOut, responses=error_responses(401, 404, 422)
)
async def rotate_secret(
    endpoint_id: uuid.UUID, body: RotateIn, caller: OwnerCaller, request: Request, now: Now
) -> JSONResponse:
    """A new secret, shown this once. For `overlap_hours` every delivery carries two signatures,
    one with each secret, so the receiver can switch over at its own pace."""

    async def work(session: AsyncSession) -> SecretOut:
        overlap = timedelta(hours=body.overlap_hours)
        endpoint, secret = await subscriptions.rotate_secret(
            session, caller, _settings(request), endpoint_id, overlap, now
        )
        return SecretOut(secret=secret, previous_secret_expires_at=endpoint.previous_secret_expires_at)

    return await run_command(request, str(caller.tenant.id), work, status_code=200)


@router.post("/{endpoint_id}/ping", response_model=DeliveryOut, responses=error_responses(401, 404))
async def ping(
    endpoint_id: uuid.UUID, caller: OwnerCaller, db: Db, request: Request, now: Now
) -> DeliveryOut:
    """Send a signed `webhook.ping` now and answer with what the receiver said (also in the log)."""
    settings = _settings(request)
    claimed = await db.transaction(lambda session: pings.start(session, caller, settings, endpoint_id, now))
    sender: WebhookSender = request.app.state.webhook_sender
    answer = await sender.send(claimed.request)
    return delivery_out(await db.transaction(lambda session: pings.finish(session, claimed, answer, now)))


@router.get(
    "/{endpoint_id}/deliveries", response_model=DeliveryPage, responses=error_responses(401, 404, 422)
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    caller: OwnerCaller,
    db: Db,
    status: Annotated[list[DeliveryStatus], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DeliveryPage:
    """The delivery log, newest first: status, attempts, the receiver's answer and latency."""

    async def work(session: AsyncSession) -> DeliveryPage:
        rows, next_cursor = await subscriptions.deliveries(
            session,
            caller.tenant,
            endpoint_id,
            statuses=list(status),
            event_type=event_type,
            limit=limit,
            cursor=cursor,
        )
        return DeliveryPage(items=[delivery_out(row) for row in rows], next_cursor=next_cursor)

    return await db.transaction(work)


@router.post(
    "/{endpoint_id}/replay",
    status_code=202,
    response_model=ReplayOut,
    responses=error_responses(401, 404, 409, 422),
)
async def replay(
    endpoint_id: uuid.UUID, body: ReplayIn, caller: OwnerCaller, request: Request, now: Now
) -> JSONResponse:
    """Send again one delivery, one event, or every event of a time range this endpoint wants
    (at most 10,000 at a time). Replays keep the event's `webhook-id`."""

    async def work(session: AsyncSession) -> ReplayOut:
        replay_id, queued = await subscriptions.replay(session, caller, endpoint_id, body, now)
        return ReplayOut(replay_id=replay_id, queued=queued)

    return await run_command(request, str(caller.tenant.id), work, status_code=202)
