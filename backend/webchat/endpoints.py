"""The web chat without WebSocket: the same conversation over plain HTTP, for the widget's fallback.

Authenticated like the Socket.IO connection: a publishable key (`X-Widget-Key`) whose allowed
origins include the request's Origin. A resend with the same `client_message_id` (or
`Idempotency-Key`) is answered from storage, not a second time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from backend.core.errors import Forbidden, RateLimited
from backend.webchat.schemas import ChatMessageIn, ChatMessagesOut, ChatSessionIn, ChatSessionOut
from backend.webchat.service import WebChat
from channels.webchat import ChatRefused, ChatSession
from policy.input_limits import MAX_SEQUENCE

router = APIRouter(prefix="/api/v1/chat", tags=["web chat"])

WidgetKey = Annotated[str, Header(alias="X-Widget-Key", description="A publishable key (pk_live_…)")]
Origin = Annotated[str, Header(alias="Origin", description="Sent by the browser")]


async def _open(
    request: Request, key: str, origin: str, token: str | None, *, resume_only: bool = True
) -> tuple[WebChat, ChatSession]:
    chat: WebChat = request.app.state.webchat
    address = request.client.host if request.client else ""
    try:
        return chat, await chat.open_session(key, origin, token, address, resume_only=resume_only)
    except ChatRefused as refusal:
        if isinstance(refusal.__cause__, RateLimited):
            raise refusal.__cause__ from None
        raise Forbidden(str(refusal)) from None


@router.post("/sessions", response_model=ChatSessionOut)
async def open_session(
    body: ChatSessionIn, request: Request, key: WidgetKey, origin: Origin
) -> ChatSessionOut:
    """Start a conversation, or resume the one `token` names; returns its messages so far (and, while
    there are none, the greeting to show)."""
    chat, session = await _open(request, key, origin, body.token, resume_only=False)
    messages = await chat.history(session, 0)
    greeting = None if messages else await chat.greeting(session)
    return ChatSessionOut.model_validate({"token": session.token, "messages": messages, "greeting": greeting})


@router.get("/messages", response_model=ChatMessagesOut)
async def messages(
    request: Request,
    key: WidgetKey,
    origin: Origin,
    token: Annotated[str, Header(alias="X-Conversation-Token", max_length=100)],
    after: Annotated[
        int, Query(ge=0, le=MAX_SEQUENCE, description="Return messages with a higher sequence number")
    ] = 0,
) -> ChatMessagesOut:
    chat, session = await _open(request, key, origin, token)
    return ChatMessagesOut.model_validate({"token": token, "messages": await chat.history(session, after)})


@router.post("/messages", response_model=ChatMessagesOut)
async def send(
    body: ChatMessageIn,
    request: Request,
    key: WidgetKey,
    origin: Origin,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
) -> ChatMessagesOut:
    """Send the patient's message; returns it with its sequence number, followed by the replies."""
    chat, session = await _open(request, key, origin, body.token)
    events = await chat.post(session, body.text, body.choice, body.client_message_id or idempotency_key)
    return ChatMessagesOut.model_validate({"token": body.token, "messages": events})
