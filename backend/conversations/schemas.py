"""Shapes of conversations and their messages, as staff and the chat see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from backend.core.schemas import Input, Output


class ChatMessageOut(Output):
    seq: int
    role: Literal["patient", "assistant", "staff", "system"]
    text: str
    quick_replies: list[dict[str, str]]
    card: dict[str, object] | None
    client_message_id: str | None
    at: datetime
    author: str | None = Field(default=None, description="The first name of the member of staff who wrote it")


class TriageFlag(Output):
    band: Literal["emergency", "urgent"] = Field(description="The most serious band triage saw")
    category: str = Field(description="What it recognised, e.g. `cardiac`, `knocked_out_tooth`")
    at: datetime = Field(description="When the conversation was flagged at this band")
    acknowledged_at: datetime | None = Field(
        description="When a member of staff acknowledged the alert (or took the conversation over)"
    )
    acknowledged_by: uuid.UUID | None = Field(description="Who acknowledged it")


class RunningLate(Output):
    reference: str = Field(description="The booking the conversation is about")
    minutes: int | None = Field(description="How late the patient said they will be (null: not said)")
    noticed_at: datetime


class ConversationOut(Output):
    id: uuid.UUID
    channel: Literal["web", "sms", "voice"]
    status: Literal["open", "needs_human", "closed"]
    handler: Literal["receptionist", "staff"] = Field(description="Who answers: the receptionist or a person")
    staff_id: uuid.UUID | None = Field(description="The member of staff who took it over")
    patient: str = Field(
        description="The patient's name, else their number, as far as the conversation knows"
    )
    last_text: str = Field(description="The start of the last message")
    last_role: str | None
    last_seq: int
    taken_over_at: datetime | None
    triage: TriageFlag | None = Field(
        description="Set when triage recognised an emergency or an urgent dental problem: the clinic "
        "was alerted (inbox, `conversation.emergency`/`conversation.urgent` event, on-call text, e-mail)"
    )
    running_late: RunningLate | None = Field(
        default=None,
        description="Set while the patient's booking this conversation is about has a running-late "
        "notice from them (`booking.running_late`), until the visit is over",
    )
    created_at: datetime
    updated_at: datetime


class ConversationPage(Output):
    items: list[ConversationOut]
    next_cursor: str | None
    waiting: int = Field(description="Conversations of the clinic waiting for a person (any page)")
    alerts: int = Field(description="Flagged conversations no one has acknowledged yet (any page)")


class ConversationDetail(ConversationOut):
    messages: list[ChatMessageOut]


class StaffReplyIn(Input):
    text: str = Field(min_length=1, max_length=2000)
    urgent: bool = Field(
        default=False,
        description="By text: send even in the patient's quiet hours (default: wait until morning)",
    )


class StaffReplyOut(Output):
    message: ChatMessageOut
    outbox_id: uuid.UUID | None = Field(
        description="The text message carrying it (SMS and calls), to follow its status"
    )
