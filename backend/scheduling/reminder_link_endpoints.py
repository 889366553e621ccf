"""The page a reminder e-mail's links open, in the clinic's name: a confirm link confirms at once; a
cancel link asks its yes on the page first (as a cancel does everywhere), then cancels; a
reschedule link opens the chat widget on the booking, where the patient moves it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.core.deps import Db, Now
from backend.core.pages import pages
from backend.messaging import notifications
from backend.scheduling import guards, reminder_links
from backend.scheduling.models import Appointment
from backend.scheduling.reminder_links import Grant, LinkInvalid, Outcome
from backend.tenants import service as tenants

router = APIRouter(tags=["reminder links"], include_in_schema=False)


def _links(request: Request) -> reminder_links.ReminderLinks:
    links: reminder_links.ReminderLinks | None = request.app.state.reminder_links
    if links is None:
        raise LinkInvalid("this server issues no reminder links")
    return links


@router.get("/r/{token}", response_class=HTMLResponse)
async def open_link(token: str, request: Request, db: Db, now: Now) -> Response:
    try:
        grant = _links(request).read(token)
        tenant = await db.transaction(lambda session: tenants.get_context(session, grant.tenant_id))
    except (LinkInvalid, LookupError):
        return _page(request, None, None, problem="This link is not valid.", status=404)
    if grant.action in {"cancel", "reschedule"}:
        try:
            appointment = await db.transaction(
                lambda session: reminder_links.appointment_for(session, tenant, grant, now)
            )
        except LinkInvalid as error:
            return _page(request, tenant, None, problem=str(error), status=410)
        if grant.action == "reschedule":
            return _page(request, tenant, appointment, widget_key=reminder_links.WIDGET_PREFIX + token)
        return _page(request, tenant, appointment, asking=True)
    return await _use(request, db, tenant, grant, now)


@router.post("/r/{token}", response_class=HTMLResponse)
async def confirm_cancel(token: str, request: Request, db: Db, now: Now) -> Response:
    try:
        grant = _links(request).read(token)
        tenant = await db.transaction(lambda session: tenants.get_context(session, grant.tenant_id))
    except (LinkInvalid, LookupError):
        return _page(request, None, None, problem="This link is not valid.", status=404)
    response = await _use(request, db, tenant, grant, now)
    if response.status_code != 200:
        return response
    # Post/redirect/get: reloading the result does not post again (the link is used by now).
    return RedirectResponse(request.url.path + "?done=1", status_code=303)


async def _use(request: Request, db: Db, tenant: TenantContext, grant: Grant, now: Now) -> Response:
    async def work(session: AsyncSession) -> Outcome:
        return await reminder_links.use(session, tenant, grant, now)

    try:
        outcome = await db.transaction(work, isolation="SERIALIZABLE", gate=guards.writer_gate(tenant.id))
    except LinkInvalid as error:
        return _page(request, tenant, None, problem=str(error), status=410)
    return _page(request, tenant, outcome.appointment)


def _page(
    request: Request,
    tenant: TenantContext | None,
    appointment: Appointment | None,
    *,
    problem: str | None = None,
    asking: bool = False,
    widget_key: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "practice": tenant.name if tenant else "Your appointment",
        "appointment": appointment,
        "problem": problem,
        "asking": asking and appointment is not None and appointment.status in {"booked", "confirmed"},
        "widget_key": widget_key,
    }
    if tenant is not None and appointment is not None:
        context["when"] = notifications.when_label(tenant, appointment.starts_at)
    # The link is a credential: keep it out of other sites' Referer headers and shared caches.
    private = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    return pages.TemplateResponse(request, "reminder_link.html", context, status_code=status, headers=private)
