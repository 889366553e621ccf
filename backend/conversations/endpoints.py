"""The clinic's inbox over the API: every conversation a page at a time, its thread, and a person
taking it over from the receptionist, answering, and handing it back."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import alerts, inbox, takeover
from backend.conversations import service as conversations
from backend.conversations.live import Live, Unwatched
from backend.conversations.models import Conversation
from backend.conversations.schemas import (
    ChatMessageOut,
    ConversationDetail,
    ConversationOut,
    ConversationPage,
    StaffReplyIn,
    StaffReplyOut,
)
from backend.conversations.service import StoredMessage
from backend.core import audit
from backend.core.commands import run_command
from backend.core.context import Caller
from backend.core.deps import Db, Now, current_time
from backend.core.schemas import error_responses
from backend.tenants.deps import TenantCaller
from policy.input_limits import MAX_SEQUENCE

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])

Channel = Literal["web", "sms", "voice"]


def conversation_out(item: inbox.InboxItem) -> ConversationOut:
    row = item.conversation
    return ConversationOut.model_validate(
        {
            **{field: getattr(row, field) for field in _ROW_FIELDS},
            "patient": item.patient,
            "last_text": item.last_text,
            "last_role": item.last_role,
            "triage": _triage(row),
            "running_late": asdict(item.late) if item.late else None,
        }
    )


def _triage(row: Conversation) -> dict[str, Any] | None:
    if row.triage_band is None:
        return None
    return {
        "band": row.triage_band,
        "category": row.triage_category,
        "at": row.triage_at,
        "acknowledged_at": row.triage_acknowledged_at,
        "acknowledged_by": row.triage_acknowledged_by,
    }


_ROW_FIELDS = (
    "id",
    "channel",
    "status",
    "handler",
    "staff_id",
    "last_seq",
    "taken_over_at",
    "created_at",
    "updated_at",
)


@router.get("", response_model=ConversationPage, responses=error_responses(401, 403, 422))
async def list_conversations(
    caller: TenantCaller,
    db: Db,
    now: Now,
    status: Annotated[Literal["open", "needs_human", "closed"] | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    handler: Annotated[Literal["receptionist", "staff"] | None, Query()] = None,
    today: Annotated[bool, Query(description="Only conversations active today (the clinic's day)")] = False,
    triage: Annotated[
        Literal["emergency", "urgent", "any"] | None,
        Query(description="Only conversations triage flagged at this band (`any`: either)"),
    ] = None,
    acknowledged: Annotated[
        bool | None,
        Query(description="With `triage`: `false` lists the alerts no one has acknowledged yet"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the page before")
    ] = None,
) -> ConversationPage:
    """Most recently active first, from the first message on (a chat window opened and never used is
    not listed); `status=needs_human` lists the patients waiting for a person,
    `triage=any&acknowledged=false` the emergencies and urgent problems no one has seen yet."""
    filters = inbox.InboxFilter(
        status=status,
        channel=channel,
        handler=handler,
        today=today,
        triage=triage,
        acknowledged=acknowledged,
    )

    async def work(session: AsyncSession) -> ConversationPage:
        items, next_cursor = await inbox.page(
            session, caller.tenant, filters, now, limit=limit, cursor=cursor
        )
        return ConversationPage(
            items=[conversation_out(item) for item in items],
            next_cursor=next_cursor,
            waiting=await inbox.waiting(session, caller.tenant),
            alerts=await inbox.open_alerts(session, caller.tenant),
        )

    return await db.transaction(work)


@router.get(
    "/{conversation_id}", response_model=ConversationDetail, responses=error_responses(401, 403, 404, 422)
)
async def conversation_detail(
    conversation_id: uuid.UUID, caller: TenantCaller, db: Db, now: Now
) -> ConversationDetail:
    """The conversation and its whole thread, booking cards included."""

    async def work(session: AsyncSession) -> ConversationDetail:
        shown = await detail(session, caller, conversation_id, now)
        _viewed(session, caller, shown.id, shown.channel)
        return shown

    return await db.transaction(work)


def _viewed(session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, channel: str) -> None:
    """Who read a conversation (a call's transcript too) and when; never what it says."""
    audit.record(
        session, caller, "conversation.viewed", "conversation", conversation_id, {"channel": channel}
    )


async def detail(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, now: datetime
) -> ConversationDetail:
    row = await conversations.get(session, caller.tenant, conversation_id)
    messages = await conversations.messages_after(session, caller.tenant, conversation_id, 0)
    late = await inbox.late_notices(session, caller.tenant, [row], now)
    preview = messages[-1].text[:140] if messages else ""
    summary = conversation_out(
        inbox.InboxItem(row, inbox.patient_label(row), preview, None, late.get(row.id))
    )
    return ConversationDetail.model_validate(
        {
            **summary.model_dump(),
            "last_role": messages[-1].role if messages else None,
            "messages": [m.event() for m in messages],
        }
    )


@router.get(
    "/{conversation_id}/messages",
    response_model=list[ChatMessageOut],
    responses=error_responses(401, 403, 404, 422),
)
async def conversation_messages(
    conversation_id: uuid.UUID,
    caller: TenantCaller,
    db: Db,
    after: Annotated[int, Query(ge=0, le=MAX_SEQUENCE)] = 0,
) -> list[ChatMessageOut]:
    """The messages after sequence number `after` (to catch up on a thread already shown)."""

    async def work(session: AsyncSession) -> list[ChatMessageOut]:
        row = await conversations.get(session, caller.tenant, conversation_id)
        messages = await conversations.messages_after(session, caller.tenant, conversation_id, after)
        _viewed(session, caller, row.id, row.channel)
        return [ChatMessageOut.model_validate(m.event()) for m in messages]

    return await db.transaction(work)


def _live(request: Request) -> Live:
    return getattr(request.app.state, "live", None) or Unwatched()


async def announce(live: Live, conversation: Conversation, message: StoredMessage | None) -> None:
    """After the commit: the patient's widget and the clinic's inboxes see the change at once."""
    summary: dict[str, Any] = {
        "conversation_id": str(conversation.id),
        "channel": conversation.channel,
        "handler": conversation.handler,
        "staff_id": str(conversation.staff_id) if conversation.staff_id else None,
        "status": conversation.status,
    }
    await live.to_staff(conversation.tenant_id, "conversation.updated", summary)
    if message is None:
        return
    await live.to_staff(
        conversation.tenant_id, "conversation.message", {**summary, "message": message.event()}
    )
    if conversation.channel == "web":
        await live.to_patient(conversation.id, "message", message.event())


Change = Callable[[AsyncSession], Awaitable[tuple[Conversation, StoredMessage | None]]]


async def _change_handler(
    request: Request, caller: Caller, scope: str, conversation_id: uuid.UUID, change: Change
) -> JSONResponse:
    """Run a takeover or hand-back as an idempotent command, then tell the widget and the inboxes
    (once, for the attempt that committed)."""
    changed: list[tuple[Conversation, StoredMessage | None]] = []

    async def work(session: AsyncSession) -> ConversationDetail:
        changed.append(await change(session))
        return await detail(session, caller, conversation_id, current_time())

    response = await run_command(request, f"{scope}:{caller.tenant.id}", work, status_code=200)
    for conversation, note in changed[-1:]:
        await announce(_live(request), conversation, note)
    return response


@router.post(
    "/{conversation_id}/takeover",
    response_model=ConversationDetail,
    responses=error_responses(
        401, 403, 404, 409, 422, status_409="A colleague is already answering this conversation"
    ),
)
async def take_over(
    conversation_id: uuid.UUID, request: Request, caller: TenantCaller, now: Now
) -> JSONResponse:
    """Answer this conversation yourself: from now on the receptionist stays silent on it, on every
    channel, and the patient is told a person has joined. Only a signed-in member of staff can."""
    return await _change_handler(
        request,
        caller,
        "takeover",
        conversation_id,
        lambda session: takeover.take_over(session, caller, conversation_id, now),
    )


@router.post(
    "/{conversation_id}/handback",
    response_model=ConversationDetail,
    responses=error_responses(401, 403, 404, 422),
)
async def hand_back(conversation_id: uuid.UUID, request: Request, caller: TenantCaller) -> JSONResponse:
    """Give the conversation back to the receptionist, which answers the patient's next message."""
    return await _change_handler(
        request,
        caller,
        "handback",
        conversation_id,
        lambda session: takeover.hand_back(session, caller, conversation_id),
    )


@router.post(
    "/{conversation_id}/acknowledge",
    response_model=ConversationDetail,
    responses=error_responses(401, 403, 404, 409, 422, status_409="Triage has not flagged this conversation"),
)
async def acknowledge(
    conversation_id: uuid.UUID, request: Request, caller: TenantCaller, now: Now
) -> JSONResponse:
    """Say the clinic has seen this conversation's emergency or urgent alert: it leaves the top of
    the inbox (the `triage` flag stays). Taking the conversation over does the same."""

    async def change(session: AsyncSession) -> tuple[Conversation, StoredMessage | None]:
        return await alerts.acknowledge_alert(session, caller, conversation_id, now), None

    return await _change_handler(request, caller, "acknowledge", conversation_id, change)


@router.post(
    "/{conversation_id}/messages",
    response_model=StaffReplyOut,
    status_code=201,
    responses=error_responses(
        401,
        403,
        404,
        409,
        422,
        status_409="The conversation is not taken over, or there is no number to text",
    ),
)
async def staff_reply(
    conversation_id: uuid.UUID, body: StaffReplyIn, request: Request, caller: TenantCaller, now: Now
) -> JSONResponse:
    """Answer the patient on the conversation's channel: the web chat at once, a text through the
    outbox (opt-out, quiet hours unless `urgent`, at most 3 segments). Take it over first."""
    sent: list[takeover.StaffReply] = []

    async def work(session: AsyncSession) -> StaffReplyOut:
        reply = await takeover.reply(session, caller, conversation_id, body.text, body.urgent, now)
        sent.append(reply)
        return StaffReplyOut(
            message=ChatMessageOut.model_validate(reply.message.event()), outbox_id=reply.outbox_id
        )

    response = await run_command(request, f"staff_reply:{caller.tenant.id}", work, status_code=201)
    for reply in sent[-1:]:
        await announce(_live(request), reply.conversation, reply.message)
    return response
