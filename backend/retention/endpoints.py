"""Retention over the API: the clinic's periods are tenant settings (`PATCH /api/v1/tenant/settings`,
`retention_*`); this says when the last nightly purge ran and what it removed."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.deps import Db
from backend.core.schemas import Output, error_responses
from backend.retention import purge
from backend.tenants.deps import OwnerCaller

router = APIRouter(prefix="/api/v1/retention", tags=["retention"])


class RetentionRunOut(Output):
    run_on: date = Field(description="The clinic's local day the purge ran for")
    started_at: datetime
    finished_at: datetime | None = Field(description="Unset while it runs (or if it was interrupted)")
    counts: dict[str, int] = Field(description="Rows emptied or removed, by kind")


@router.get("/last-run", response_model=RetentionRunOut | None, responses=error_responses(401, 403))
async def last_run(caller: OwnerCaller, db: Db) -> RetentionRunOut | None:
    """The last nightly purge, or null before the first."""

    async def work(session: AsyncSession) -> RetentionRunOut | None:
        run = await purge.last_run(session, caller.tenant.id)
        return RetentionRunOut.model_validate(run) if run is not None else None

    return await db.transaction(work)
