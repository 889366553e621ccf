"""Rendering a workspace page: the signed-in member of staff, the CSRF token, the navigation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from backend.core.context import Caller
from backend.core.deps import CorrelationId, Db, Now, get_settings
from backend.core.settings import Settings
from backend.scheduling.models import FRONTDESK
from backend.tenants import sessions
from backend.tenants.deps import staff_caller

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
PREFIX = "/app"


def source_label(source: str) -> str:
    """Where an appointment was made, as staff read it: here, or the clinic's own system's name."""
    return "Frontdesk" if source == FRONTDESK else source


templates.env.globals["source_label"] = source_label

NAV = (
    ("schedule", "Schedule", False),
    ("inbox", "Inbox", False),
    ("patients", "Patients", False),
    ("messages", "Messages", False),
    ("calendars", "Calendars", False),
    ("reports", "Reports", False),
    ("settings", "Settings", False),
    ("audit", "Audit log", True),
)


class SignInNeeded(Exception):
    """Raised by a page dependency; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class EnrolmentNeeded(Exception):
    """The clinic requires two-factor sign-in and this member has not set it up: answered with a
    redirect to the set-up page, the only page open to them."""


ENROLMENT_PATH = PREFIX + "/account/two-factor"


@dataclass(frozen=True)
class Page:
    caller: Caller
    csrf: str
    request: Request

    @property
    def tz(self) -> ZoneInfo:
        return self.caller.tenant.timezone

    def local(self, at: datetime, fmt: str = "%a %d %b %H:%M") -> str:
        return at.astimezone(self.tz).strftime(fmt)

    def render(self, template: str, section: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(
            self.request,
            template,
            {
                "page": self,
                "caller": self.caller,
                "csrf": self.csrf,
                "section": section,
                "nav": [
                    (key, label) for key, label, owners_only in NAV if self.caller.is_owner or not owners_only
                ],
                "idempotency_key": uuid.uuid4().hex,
                **context,
            },
            status_code=status_code,
        )


async def signed_in_page(
    request: Request,
    db: Db,
    now: Now,
    correlation: CorrelationId,
    settings: Annotated[Settings, Depends(get_settings)],
) -> Page:
    token = request.cookies.get(sessions.COOKIE)
    signed = (
        await db.transaction(lambda session: sessions.signed_in(session, settings, token, now))
        if token
        else None
    )
    if signed is None:
        raise SignInNeeded(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if signed.must_enrol and request.url.path != ENROLMENT_PATH:
        raise EnrolmentNeeded()
    return Page(staff_caller(signed, correlation), signed.csrf, request)


StaffPage = Annotated[Page, Depends(signed_in_page)]
