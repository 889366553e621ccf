"""The page a waitlist offer links to: see the freed time, take it with one tap."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.deps import Db, Now
from backend.core.errors import AppError
from backend.core.pages import pages
from backend.messaging import notifications
from backend.scheduling import guards, waitlist
from backend.scheduling.waitlist import Offer

router = APIRouter(tags=["waitlist offers"], include_in_schema=False)


@router.get("/o/{token}", response_class=HTMLResponse)
async def show_offer(token: str, request: Request, db: Db, now: Now) -> Response:
    try:
        offer = await db.transaction(lambda session: waitlist.find(session, token, now))
    except AppError as error:
        return _page(request, None, error.message, error.status)
    return _page(request, offer)


@router.post("/o/{token}", response_class=HTMLResponse)
async def take_offer(token: str, request: Request, db: Db, now: Now) -> Response:
    try:
        tenant_id = await db.transaction(lambda session: waitlist.tenant_of(session, token))

        async def work(session: AsyncSession) -> Offer:
            return await waitlist.accept(session, token, now)

        await db.transaction(work, isolation="SERIALIZABLE", gate=guards.writer_gate(tenant_id))
    except AppError as error:
        offer = None
        with contextlib.suppress(AppError):  # an unknown link has no offer to show
            offer = await db.transaction(lambda session: waitlist.find(session, token, now))
        return _page(request, offer, error.message, error.status)
    # Post/redirect/get: reloading the result page does not post again.
    return RedirectResponse(request.url.path, status_code=303)


def _page(request: Request, offer: Offer | None, problem: str | None = None, status: int = 200) -> Response:
    context: dict[str, Any] = {"offer": offer, "problem": problem, "practice": "Your appointment"}
    if offer is not None:
        context["practice"] = offer.tenant.name
        context["when"] = notifications.when_label(offer.tenant, offer.starts_at)
        local_expiry = offer.expires_at.astimezone(offer.tenant.timezone)
        context["expires"] = f"{local_expiry:%I:%M %p}".lstrip("0")
    return pages.TemplateResponse(request, "offer.html", context, status_code=status)
