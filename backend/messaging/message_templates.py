"""The words of every outbound message: Jinja2 templates per profile, overridable per tenant.

A message kind is one file under `backend/templates/messages/<profile>/` with three blocks: `sms`,
`subject` and `email`. A profile without its own file for a kind uses `general/`. A tenant may
replace any one part with its own source, stored in `message_templates`. Tenant text is not
trusted code: it is rendered in Jinja's sandbox, in a confined child process
(`template_processes.py`), never in a server's own process and never inside a transaction; a
message caused by a change is queued in the profile's wording and reworded after commit
(`tenant_wording.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import ValidationFailed
from backend.messaging.models import MessageTemplate
from backend.messaging.template_processes import TemplateProcesses
from backend.messaging.template_rules import TemplateRefused
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
    # A reminder's one-click links (e-mail); a reminder sent without them leaves them undefined.
    "confirm_link": "https://frontdesk.example.com/r/k1.Qm9va2luZ3NhbXBsZWxpbmtub3RyZWFs",
    "cancel_link": "https://frontdesk.example.com/r/k1.U2FtcGxlY2FuY2VsbGlua25vdHJlYWw",
    "reschedule_link": "https://frontdesk.example.com/r/k1.U2FtcGxlbW92ZWxpbmtub3RyZWFs",
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


def render(kind: str, profile: str, context: dict[str, Any]) -> RenderedMessage:
    """The profile's own wording (our templates: trusted, rendered here)."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    template = _FILES.select_template([f"{profile}/{kind}.j2", f"general/{kind}.j2"])
    return RenderedMessage(
        **{part: _tidy(template.render({**context, "part": part}), part) for part in PARTS}
    )


def with_parts(message: RenderedMessage, texts: dict[str, str]) -> RenderedMessage:
    """`message` with some of its parts replaced by these (the tenant's rendered wording)."""
    return replace(message, **{part: _tidy(text, part) for part, text in texts.items()})


def reworded(channel: str, subject: str | None, body: str, texts: dict[str, str]) -> tuple[str | None, str]:
    """A queued message's (subject, body) on `channel` with the tenant's rendered parts in place."""
    tidy = {part: _tidy(text, part) for part, text in texts.items()}
    if channel == "sms":
        return None, tidy.get("sms", body)
    return tidy.get("subject", subject), tidy.get("email", body)


def _tidy(text: str, part: str) -> str:
    if part == "email":
        return text.strip() + "\n"
    # SMS and subjects are one line: collapse what a template's line breaks left behind.
    return " ".join(text.split())


def parts_of(channel: str) -> tuple[Part, ...]:
    """The parts of a message that go out on `channel`."""
    return ("sms",) if channel == "sms" else ("subject", "email")


async def render_for_tenant(
    processes: TemplateProcesses, kind: str, profile: str, overrides: dict[str, str], context: dict[str, Any]
) -> RenderedMessage:
    """The profile's wording with the tenant's own parts in place, rendered in a confined child
    process; TemplateRefused if one of them fails."""
    message = render(kind, profile, context)
    if not overrides:
        return message
    return with_parts(message, await processes.render(overrides, context))


_OVERRIDES = select(MessageTemplate.part, MessageTemplate.source).where(
    MessageTemplate.tenant_id == bindparam("tenant_id"), MessageTemplate.kind == bindparam("kind")
)


async def overrides_for(session: AsyncSession, tenant_id: uuid.UUID, kind: str) -> dict[str, str]:
    rows = await session.execute(_OVERRIDES, {"tenant_id": tenant_id, "kind": kind})
    return {part: source for part, source in rows.all()}


async def all_overrides(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, dict[str, str]]:
    """kind -> part -> source, for every kind the tenant has reworded."""
    rows = await session.execute(
        select(MessageTemplate.kind, MessageTemplate.part, MessageTemplate.source).where(
            MessageTemplate.tenant_id == tenant_id
        )
    )
    found: dict[str, dict[str, str]] = {}
    for kind, part, source in rows.all():
        found.setdefault(kind, {})[part] = source
    return found


def sample_context(practice: str) -> dict[str, Any]:
    return {**SAMPLE_CONTEXT, "practice": practice}


async def check_override(
    processes: TemplateProcesses, kind: str, part: Part, source: str, profile: str, practice: str
) -> RenderedMessage:
    """Render the sample with `source` in place; ValidationFailed says what is wrong with it."""
    if kind not in KINDS:
        raise ValidationFailed("kind", f"unknown message kind {kind!r}; one of: {', '.join(KINDS)}")
    try:
        rendered = await render_for_tenant(processes, kind, profile, {part: source}, sample_context(practice))
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
