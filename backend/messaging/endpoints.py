"""What the practice has sent (the outbox, for staff) and the wording of its messages."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import TenantContext
from backend.core.deps import Db
from backend.core.errors import NotFound, ValidationFailed
from backend.core.schemas import error_responses
from backend.messaging import message_templates
from backend.messaging.message_templates import KINDS, PARTS, Part, RenderedMessage
from backend.messaging.schemas import (
    MessageTemplateIn,
    MessageTemplateOut,
    SegmentsOut,
)
from backend.messaging.template_processes import TemplateProcesses
from backend.messaging.template_rules import TemplateRefused
from backend.tenants.deps import OwnerCaller, TenantCaller

router = APIRouter(prefix="/api/v1", tags=["notifications"])


def template_processes(request: Request) -> TemplateProcesses:
    return request.app.state.template_processes


Templates = Annotated[TemplateProcesses, Depends(template_processes)]


@router.get("/message-templates", response_model=list[MessageTemplateOut])
async def list_templates(caller: TenantCaller, db: Db, processes: Templates) -> list[MessageTemplateOut]:
    """Every message part as it will be sent, with a sample rendering and its SMS segment count."""
    tenant = caller.tenant
    overrides = await db.transaction(lambda session: message_templates.all_overrides(session, tenant.id))
    # After the transaction, each kind in a template process of its own when one is free.
    previews = await asyncio.gather(
        *(_preview(processes, tenant, kind, overrides.get(kind, {})) for kind in KINDS)
    )
    return [
        _template_out(kind, part, overrides.get(kind, {}), rendered, problem)
        for kind, (rendered, problem) in zip(KINDS, previews, strict=True)
        for part in PARTS
    ]


async def _preview(
    processes: TemplateProcesses, tenant: TenantContext, kind: str, overrides: dict[str, str]
) -> tuple[RenderedMessage, str | None]:
    """The sample message in the tenant's wording; if that fails, in the profile's (as it is sent)
    and why."""
    sample = message_templates.sample_context(tenant.name)
    try:
        rendered = await message_templates.render_for_tenant(
            processes, kind, tenant.profile, overrides, sample
        )
    except TemplateRefused as refusal:
        return message_templates.render(kind, tenant.profile, sample), str(refusal)
    return rendered, None


_REFUSED = "It uses a construct templates may not, does not render, or the sample SMS is too long"


@router.put(
    "/message-templates/{kind}/{part}",
    response_model=MessageTemplateOut,
    responses=error_responses(401, 403, 422, status_422=_REFUSED),
)
async def put_template(
    kind: str, part: Part, body: MessageTemplateIn, caller: OwnerCaller, db: Db, processes: Templates
) -> MessageTemplateOut:
    """Use this tenant's own wording. Rejected (422, with the reason) if it uses a construct message
    templates may not (padding, formatting, huge numbers, …), does not render, or if the sample SMS
    would take more than two segments."""
    tenant = caller.tenant
    rendered = await message_templates.check_override(
        processes, kind, part, body.source, tenant.profile, tenant.name
    )

    async def work(session: AsyncSession) -> MessageTemplateOut:
        await message_templates.save_override(session, tenant.id, kind, part, body.source)
        audit.record(session, caller, "message_template.saved", "message_template", f"{kind}/{part}")
        return _template_out(kind, part, {part: body.source}, rendered)

    return await db.transaction(work)


@router.post(
    "/message-templates/{kind}/{part}/preview",
    response_model=MessageTemplateOut,
    responses=error_responses(401, 403, 422, status_422=_REFUSED),
)
async def preview_template(
    kind: str, part: Part, body: MessageTemplateIn, caller: TenantCaller, processes: Templates
) -> MessageTemplateOut:
    """How this wording would read (with sample details) and its SMS segments; nothing is saved."""
    tenant = caller.tenant
    rendered = await message_templates.check_override(
        processes, kind, part, body.source, tenant.profile, tenant.name
    )
    return _template_out(kind, part, {part: body.source}, rendered)


@router.delete("/message-templates/{kind}/{part}", response_model=MessageTemplateOut)
async def reset_template(kind: str, part: Part, caller: OwnerCaller, db: Db) -> MessageTemplateOut:
    """Go back to the profile's default wording."""
    if kind not in KINDS:
        raise ValidationFailed("kind", f"unknown message kind {kind!r}; one of: {', '.join(KINDS)}")
    tenant = caller.tenant

    async def work(session: AsyncSession) -> MessageTemplateOut:
        if not await message_templates.remove_override(session, tenant.id, kind, part):
            raise NotFound(f"{kind}/{part} has no custom template")
        audit.record(session, caller, "message_template.reset", "message_template", f"{kind}/{part}")
        sample = message_templates.sample_context(tenant.name)
        return _template_out(kind, part, {}, message_templates.render(kind, tenant.profile, sample))

    return await db.transaction(work)


def _template_out(
    kind: str, part: Part, overrides: dict[str, str], rendered: RenderedMessage, problem: str | None = None
) -> MessageTemplateOut:
    segments = rendered.sms_segments
    return MessageTemplateOut(
        kind=kind,
        part=part,
        customized=part in overrides,
        source=overrides.get(part),
        preview=getattr(rendered, part),
        problem=problem if part in overrides else None,
        segments=SegmentsOut(encoding=segments.encoding, units=segments.units, segments=segments.segments)
        if part == "sms"
        else None,
    )
