"""The words of every outbound message: Jinja2 templates per profile, overridable per tenant.

A message kind is one file under `backend/templates/messages/<profile>/` with three blocks: `sms`,
`subject` and `email`. A profile without its own file for a kind uses `general/`. A tenant may
replace any one part with its own source, stored in `message_templates` and rendered in Jinja's
sandbox (tenant text is not trusted code).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import ValidationFailed
from backend.messaging.models import MessageTemplate
from backend.messaging.template_sandbox import TemplateRefused, render_untrusted
from channels.segments import SegmentCount, count_segments

KINDS = (
    "confirmation",
    "rescheduled",
    "cancelled",
    "reminder",
    "follow_up",
    "waitlist_offer",
    "review_request",
    "no_show",
)
Part = Literal["sms", "subject", "email"]
PARTS: tuple[Part, ...] = ("sms", "subject", "email")
MAX_SMS_SEGMENTS = 2
log = logging.getLogger(__name__)
TEMPLATE_ROOT = Path(__file__).resolve().parent / "templates"

# What a template can use, with the values previews render (the tenant's own name as `practice`).
SAMPLE_CONTEXT: dict[str, Any] = {
    "practice": "Bright Smile Dental",
    "first_name": "Maria",
    "service": "Teeth cleaning",
    "provider": "Dr. Adams",
    "when": "Tue Dec 3 at 10:30 AM",
    "timezone": "America/New_York",
    "reference": "K7M2QX",
    "link": "https://frontdesk.example.com/o/Xa81kQ2mZr0pLw9sTe4uYq",
    "minutes": 30,
}


@dataclass(frozen=True)
class RenderedMessage:
    sms: str
    subject: str
    email: str

    @property
    def sms_segments(self) -> SegmentCount:
        return count_segments(self.sms)


_FILES = Environment(
    loader=FileSystemLoader(TEMPLATE_ROOT),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain text (SMS and text e-mail), never HTML
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    auto_reload=False,  # the files ship with the code: no stat() of each one per message
)


def render(kind: str, profile: str, overrides: dict[str, str], context: dict[str, Any]) -> RenderedMessage:
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    template = _FILES.select_template([f"{profile}/{kind}.j2", f"general/{kind}.j2"])
    parts: dict[str, str] = {}
    for part in PARTS:
        if part in overrides:
            text = render_untrusted(overrides[part], context)
        else:
            text = template.render({**context, "part": part})
        parts[part] = _tidy(text, part)
    return RenderedMessage(**parts)


def _tidy(text: str, part: str) -> str:
    if part == "email":
        return text.strip() + "\n"
    # SMS and subjects are one line: collapse what a template's line breaks left behind.
    return " ".join(text.split())


_OVERRIDES = select(MessageTemplate.part, MessageTemplate.source).where(
    MessageTemplate.tenant_id == bindparam("tenant_id"), MessageTemplate.kind == bindparam("kind")
)


async def overrides_for(session: AsyncSession, tenant_id: uuid.UUID, kind: str) -> dict[str, str]:
    rows = await session.execute(_OVERRIDES, {"tenant_id": tenant_id, "kind": kind})
    return {part: source for part, source in rows.all()}


async def render_for_tenant(
    session: AsyncSession, tenant_id: uuid.UUID, profile: str, kind: str, context: dict[str, Any]
) -> RenderedMessage:
    """The tenant's wording; if their template fails on this message's details, the profile's
    (a patient still gets their reminder)."""
    overrides = await overrides_for(session, tenant_id, kind)
    try:
        return render(kind, profile, overrides, context)
    except TemplateRefused as refusal:
        log.warning("tenant %s template %s failed, default used: %s", tenant_id, kind, refusal)
        return render(kind, profile, {}, context)


def sample_context(practice: str) -> dict[str, Any]:
    return {**SAMPLE_CONTEXT, "practice": practice}


def check_override(kind: str, part: Part, source: str, profile: str, practice: str) -> RenderedMessage:
    """Render the sample with `source` in place; ValidationFailed says what is wrong with it."""
    if kind not in KINDS:
        raise ValidationFailed("kind", f"unknown message kind {kind!r}; one of: {', '.join(KINDS)}")
    try:
        rendered = render(kind, profile, {part: source}, sample_context(practice))
    except TemplateRefused as refusal:
        raise ValidationFailed("source", str(refusal)) from None
    if part == "sms" and rendered.sms_segments.segments > MAX_SMS_SEGMENTS:
        segments = rendered.sms_segments
        raise ValidationFailed(
            "source",
            f"the sample SMS takes {segments.segments} segments ({segments.units} {segments.encoding} "
            f"units); keep it within {MAX_SMS_SEGMENTS}",
        )
    if not getattr(rendered, part).strip():
        raise ValidationFailed("source", "the template renders to nothing")
    return rendered


async def save_override(
    session: AsyncSession, tenant_id: uuid.UUID, kind: str, part: Part, source: str
) -> None:
    statement = insert(MessageTemplate).values(tenant_id=tenant_id, kind=kind, part=part, source=source)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[MessageTemplate.tenant_id, MessageTemplate.kind, MessageTemplate.part],
            set_={"source": source, "updated_at": func.now()},
        )
    )


async def remove_override(session: AsyncSession, tenant_id: uuid.UUID, kind: str, part: Part) -> bool:
    result = await session.execute(
        delete(MessageTemplate).where(
            MessageTemplate.tenant_id == tenant_id, MessageTemplate.kind == kind, MessageTemplate.part == part
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
