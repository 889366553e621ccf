"""The outbox as staff see it: what went to whom and what became of it; sending a failed message
again or cancelling one; the numbers that texted STOP."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import cursors
from backend.core.deps import Db, Now
from backend.core.schemas import Output, error_responses
from backend.messaging import outbox_control
from backend.messaging.models import OutboxMessage, SmsOptOut
from backend.messaging.schemas import NotificationOut, NotificationPage
from backend.tenants.deps import TenantCaller

router = APIRouter(prefix="/api/v1", tags=["notifications"])

OutboxStatus = Literal[
    "rendering",
    "pending",
    "sending",
    "sent",
    "failed",
    "permanently_failed",
    "rate_limited",
    "opted_out",
    "suppressed",
    "cancelled",
]


@router.get("/notifications", response_model=NotificationPage, responses=error_responses(401, 403, 422))
async def list_notifications(
    caller: TenantCaller,
    db: Db,
    status: Annotated[list[OutboxStatus] | None, Query()] = None,
    appointment_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the page before")
    ] = None,
) -> NotificationPage:
    """Messages queued and sent, newest first: what went to whom, and what became of it."""

    async def work(session: AsyncSession) -> NotificationPage:
        query = select(OutboxMessage).where(OutboxMessage.tenant_id == caller.tenant.id)
        if status:
            query = query.where(OutboxMessage.status.in_(status))
        if appointment_id is not None:
            query = query.where(OutboxMessage.appointment_id == appointment_id)
        if customer_id is not None:
            query = query.where(OutboxMessage.customer_id == customer_id)
        rows, next_cursor = await cursors.newest_first(
            session, query, OutboxMessage.created_at, OutboxMessage.id, limit=limit, cursor=cursor
        )
        return NotificationPage(
            items=[NotificationOut.model_validate(row) for row in rows], next_cursor=next_cursor
        )

    return await db.transaction(work)


_CHANGE_ERRORS = error_responses(
    401, 403, 404, 409, 422, status_409="The message's status does not allow it (it was sent, say)"
)


@router.post("/notifications/{message_id}/retry", response_model=NotificationOut, responses=_CHANGE_ERRORS)
async def retry_notification(
    message_id: uuid.UUID, caller: TenantCaller, db: Db, now: Now
) -> NotificationOut:
    """Send a failed message again, now (opt-out and quiet hours still apply)."""

    async def work(session: AsyncSession) -> NotificationOut:
        return NotificationOut.model_validate(await outbox_control.retry(session, caller, message_id, now))

    return await db.transaction(work)


@router.post("/notifications/{message_id}/cancel", response_model=NotificationOut, responses=_CHANGE_ERRORS)
async def cancel_notification(message_id: uuid.UUID, caller: TenantCaller, db: Db) -> NotificationOut:
    """Never send this message (one still waiting, or one that failed)."""

    async def work(session: AsyncSession) -> NotificationOut:
        return NotificationOut.model_validate(await outbox_control.cancel(session, caller, message_id))

    return await db.transaction(work)


class OptOutOut(Output):
    phone: str
    source: str
    opted_out_at: datetime


class OptOutPage(Output):
    items: list[OptOutOut]
    next_cursor: str | None


@router.get("/opt-outs", response_model=OptOutPage, responses=error_responses(401, 403, 422))
async def list_opt_outs(
    caller: TenantCaller,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OptOutPage:
    """Numbers that get no texts, newest first. Only the patient can undo this, by texting START."""

    async def work(session: AsyncSession) -> OptOutPage:
        query = select(SmsOptOut).where(SmsOptOut.tenant_id == caller.tenant.id)
        rows, next_cursor = await cursors.newest_first(
            session,
            query,
            SmsOptOut.opted_out_at,
            SmsOptOut.phone,
            limit=limit,
            cursor=cursor,
            uuid_ids=False,
        )
        return OptOutPage(items=[OptOutOut.model_validate(row) for row in rows], next_cursor=next_cursor)

    return await db.transaction(work)
