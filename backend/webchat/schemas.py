"""Shapes of the web chat over HTTP (the widget's fallback when WebSocket is not available)."""

from __future__ import annotations

from pydantic import Field

from backend.conversations.schemas import ChatMessageOut
from backend.core.schemas import Input, Output


class ChatSessionIn(Input):
    token: str | None = Field(
        default=None, max_length=100, description="Resume token from an earlier session"
    )


class ChatMessageIn(Input):
    token: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=2000)
    choice: str | None = Field(default=None, max_length=200, description="Value of the quick reply tapped")
    client_message_id: str | None = Field(
        default=None,
        max_length=100,
        description="The client's id for this message: a resend is answered once",
    )


class ChatMessagesOut(Output):
    token: str
    messages: list[ChatMessageOut]
