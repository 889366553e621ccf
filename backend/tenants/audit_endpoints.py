"""The audit log of a clinic: who did what to which object and when, newest first, a page at a time.
Details are stored already redacted (no contact details, no message text)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, cursors
from backend.core.deps import Db
from backend.core.errors import ValidationFailed
from backend.core.models import AuditLog
from backend.core.schemas import Day, Output, error_responses
from backend.tenants import audit_actors
from backend.tenants.deps import OwnerCaller

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditEntryOut(Output):
    id: int
    occurred_at: datetime
    actor: str
    actor_name: str = Field(
        description="Who the actor is: a member of staff's name and e-mail, an API key's name, "
        "`Receptionist`, `System`…"
    )
    action: str
    entity_type: str
    entity_id: str | None
    correlation_id: str | None
    details: dict[str, Any]


class AuditPage(Output):
    items: list[AuditEntryOut]
    next_cursor: str | None


@router.get("/audit-log", response_model=AuditPage, responses=error_responses(401, 403, 422))
async def audit_log(
    caller: OwnerCaller,
    db: Db,
    actor: Annotated[
        str | None, Query(max_length=100, description="e.g. `staff:<id>`, `key:sk_live_ab12`, `agent`")
    ] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="Exact, or a prefix ending in `.`: `booking.`")
    ] = None,
    reads: Annotated[
        bool,
        Query(
            description="Only reads of personal data (`patient.viewed`, `.exported`, `conversation.viewed`)"
        ),
    ] = False,
    entity_type: Annotated[str | None, Query(max_length=50)] = None,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    start: Annotated[Day | None, Query(alias="from", description="First day (the clinic's timezone)")] = None,
    end: Annotated[Day | None, Query(alias="to", description="Last day, inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditPage:
    if start and end and end < start:
        raise ValidationFailed("to", "must not be before from")
    tz = caller.tenant.timezone
    query = select(AuditLog).where(AuditLog.tenant_id == caller.tenant.id)
    if actor:
        query = query.where(AuditLog.actor == actor)
    if action:
        query = query.where(
            AuditLog.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditLog.action == action
        )
    if reads:
        query = query.where(AuditLog.action.in_(audit.READS))
    if entity_type:
        query = query.where(AuditLog.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditLog.entity_id == entity_id)
    if start:
        query = query.where(AuditLog.occurred_at >= datetime.combine(start, time(0), tz))
    if end:
        query = query.where(AuditLog.occurred_at < datetime.combine(end + timedelta(days=1), time(0), tz))
    if cursor is not None:
        _, before_id = cursors.decode(cursor)
        if not (before_id.isascii() and before_id.isdigit() and len(before_id) < 19):
            raise ValidationFailed("cursor", "not a cursor this API returned")
        query = query.where(AuditLog.id < int(before_id))

    async def work(session: AsyncSession) -> AuditPage:
        rows = list(await session.scalars(query.order_by(AuditLog.id.desc()).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        names = await audit_actors.actor_names(session, caller.tenant, [row.actor for row in rows])
        return AuditPage(
            items=[
                AuditEntryOut.model_validate({**_columns(row), "actor_name": names[row.actor]})
                for row in rows
            ],
            next_cursor=cursors.encode(rows[-1].occurred_at, rows[-1].id) if more and rows else None,
        )

    return await db.transaction(work)


def _columns(row: AuditLog) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in AuditLog.__table__.columns}
