"""The inbox: every conversation live, a thread with its booking cards, take over, reply, hand back.
The page is a shell; inbox.js reads the conversations API and listens on the `/staff` room."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from backend.conversations import inbox
from backend.core.deps import Db
from backend.dashboard.render import PREFIX, StaffPage

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    page: StaffPage, db: Db, open: Annotated[uuid.UUID | None, Query()] = None
) -> HTMLResponse:
    waiting = await db.transaction(lambda session: inbox.waiting(session, page.caller.tenant))
    return page.render("inbox.html", "inbox", waiting=waiting, open_id=str(open) if open else "")
