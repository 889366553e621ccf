"""Shapes of the web chat over HTTP (the widget's fallback when WebSocket is not available)."""

from __future__ import annotations

from pydantic import Field

from backend.conversations.schemas import ChatMessageOut
from backend.core.schemas import Input, Output
from channels.inbound import ChatMessage


class ChatSessionIn(Input):
    token: str | None = Field(
        default=None, max_length=100, description="Resume token from an earlier session"
    )


class ChatMessageIn(Input, ChatMessage):
    """A chat message over HTTP: the same contract as over Socket.IO (`channels.inbound`), plus
    the session's token."""

    model_config = Input.model_config
    token: str = Field(min_length=1, max_length=100)


class ChatMessagesOut(Output):
    token: str
    messages: list[ChatMessageOut]


class ChatGreeting(Output):
    """What the widget says to a new conversation: the clinic's menu, as its switches allow."""

    text: str
    quick_replies: list[dict[str, str]]


class ChatSessionOut(ChatMessagesOut):
    greeting: ChatGreeting | None = Field(default=None, description="Set while the conversation is empty")
