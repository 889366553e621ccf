"""The page a "text me a link" SMS opens: the chat widget, on the conversation the call started."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations.handoff import PAGE_PATH, HandoffInvalid, HandoffLinks
from backend.core.deps import Db, Now
from backend.core.pages import pages
from backend.tenants import service as tenants

router = APIRouter(tags=["handoff"])


@router.get(PAGE_PATH + "{token}", response_class=HTMLResponse, include_in_schema=False)
async def handoff_page(token: str, request: Request, db: Db, now: Now) -> HTMLResponse:
    links: HandoffLinks = request.app.state.handoff_links
    try:
        grant = links.read(token, now)
    except HandoffInvalid as invalid:
        return pages.TemplateResponse(
            request, "handoff.html", {"problem": str(invalid), "clinic": None, "token": None}, status_code=410
        )

    async def clinic(session: AsyncSession) -> str:
        return (await tenants.get_context(session, grant.tenant_id)).name

    return pages.TemplateResponse(
        request,
        "handoff.html",
        {"problem": None, "clinic": await db.transaction(clinic), "token": token},
        # The link is a credential: keep it out of other sites' Referer headers and shared caches.
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
    )
