"""The inbox: every conversation live, a thread with its booking cards, take over, reply, hand back.
The page is a shell; inbox.js reads the conversations API and listens on the `/staff` room."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import inbox
from backend.core.deps import Db
from backend.dashboard.render import PREFIX, StaffPage

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    page: StaffPage, db: Db, open: Annotated[str | None, Query(max_length=200)] = None
) -> HTMLResponse:
    tenant = page.caller.tenant

    async def counts(session: AsyncSession) -> tuple[int, int]:
        return await inbox.waiting(session, tenant), await inbox.open_alerts(session, tenant)

    waiting, alerts = await db.transaction(counts)
    # A link cut short or mistyped still opens the inbox, with a sentence where the thread would be.
    conversation = _conversation_id(open)
    return page.render(
        "inbox.html",
        "inbox",
        waiting=waiting,
        alerts=alerts,
        open_id=str(conversation or ""),
        bad_link=bool(open) and conversation is None,
    )


def _conversation_id(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None
