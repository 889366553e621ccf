"""Shapes of conversations and their messages, as staff and the chat see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from backend.core.schemas import Output


class ChatMessageOut(Output):
    seq: int
    role: Literal["patient", "assistant"]
    text: str
    quick_replies: list[dict[str, str]]
    card: dict[str, object] | None
    client_message_id: str | None
    at: datetime


class ConversationOut(Output):
    id: uuid.UUID
    channel: str
    status: str
    last_seq: int
    created_at: datetime
    updated_at: datetime
