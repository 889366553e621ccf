"""What the practice has sent (the outbox, for staff) and the wording of its messages."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import TenantContext
from backend.core.deps import Db
from backend.core.errors import NotFound, ValidationFailed
from backend.core.schemas import error_responses
from backend.messaging import message_templates
from backend.messaging.message_templates import KINDS, PARTS, Part
from backend.messaging.schemas import (
    MessageTemplateIn,
    MessageTemplateOut,
    SegmentsOut,
)
from backend.tenants.deps import OwnerCaller, TenantCaller

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/message-templates", response_model=list[MessageTemplateOut])
async def list_templates(caller: TenantCaller, db: Db) -> list[MessageTemplateOut]:
    """Every message part as it will be sent, with a sample rendering and its SMS segment count."""

    async def work(session: AsyncSession) -> list[MessageTemplateOut]:
        return [
            _template_out(
                caller.tenant,
                kind,
                part,
                await message_templates.overrides_for(session, caller.tenant.id, kind),
            )
            for kind in KINDS
            for part in PARTS
        ]

    return await db.transaction(work)


@router.put("/message-templates/{kind}/{part}", response_model=MessageTemplateOut)
async def put_template(
    kind: str, part: Part, body: MessageTemplateIn, caller: OwnerCaller, db: Db
) -> MessageTemplateOut:
    """Use this tenant's own wording. Rejected (422, with the reason) if it does not render, or if
    the sample SMS would take more than two segments."""
    # Off the event loop: a tenant's template is bounded, but other requests need not wait for it.
    await asyncio.to_thread(
        message_templates.check_override, kind, part, body.source, caller.tenant.profile, caller.tenant.name
    )

    async def work(session: AsyncSession) -> MessageTemplateOut:
        await message_templates.save_override(session, caller.tenant.id, kind, part, body.source)
        audit.record(session, caller, "message_template.saved", "message_template", f"{kind}/{part}")
        return _template_out(caller.tenant, kind, part, {part: body.source})

    return await db.transaction(work)


@router.post(
    "/message-templates/{kind}/{part}/preview",
    response_model=MessageTemplateOut,
    responses=error_responses(401, 403, 422, status_422="It does not render, or the sample SMS is too long"),
)
async def preview_template(
    kind: str, part: Part, body: MessageTemplateIn, caller: TenantCaller
) -> MessageTemplateOut:
    """How this wording would read (with sample details) and its SMS segments; nothing is saved."""
    # Off the event loop: a tenant's template is bounded, but other requests need not wait for it.
    await asyncio.to_thread(
        message_templates.check_override, kind, part, body.source, caller.tenant.profile, caller.tenant.name
    )
    return _template_out(caller.tenant, kind, part, {part: body.source})


@router.delete("/message-templates/{kind}/{part}", response_model=MessageTemplateOut)
async def reset_template(kind: str, part: Part, caller: OwnerCaller, db: Db) -> MessageTemplateOut:
    """Go back to the profile's default wording."""
    if kind not in KINDS:
        raise ValidationFailed("kind", f"unknown message kind {kind!r}; one of: {', '.join(KINDS)}")

    async def work(session: AsyncSession) -> MessageTemplateOut:
        if not await message_templates.remove_override(session, caller.tenant.id, kind, part):
            raise NotFound(f"{kind}/{part} has no custom template")
        audit.record(session, caller, "message_template.reset", "message_template", f"{kind}/{part}")
        return _template_out(caller.tenant, kind, part, {})

    return await db.transaction(work)


def _template_out(
    tenant: TenantContext, kind: str, part: Part, overrides: dict[str, str]
) -> MessageTemplateOut:
    rendered = message_templates.render(
        kind, tenant.profile, overrides, message_templates.sample_context(tenant.name)
    )
    segments = rendered.sms_segments
    return MessageTemplateOut(
        kind=kind,
        part=part,
        customized=part in overrides,
        source=overrides.get(part),
        preview=getattr(rendered, part),
        segments=SegmentsOut(encoding=segments.encoding, units=segments.units, segments=segments.segments)
        if part == "sms"
        else None,
    )
