"""Shapes of the messaging API: sent messages, templates and their segment counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from backend.core.schemas import Input, Output


class NotificationOut(Output):
    id: uuid.UUID
    kind: str
    channel: str
    recipient: str
    subject: str | None
    body: str
    segments: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    delivery_status: str | None
    error_code: str | None
    error: str | None
    template_fallback: str | None = Field(
        default=None, description="Why it went in the profile's wording although the tenant has their own"
    )
    appointment_id: uuid.UUID | None
    created_at: datetime


class NotificationPage(Output):
    items: list[NotificationOut]
    next_cursor: str | None = None


class SegmentsOut(Output):
    encoding: str
    units: int
    segments: int


class MessageTemplateIn(Input):
    source: str = Field(min_length=1, max_length=5000)


class MessageTemplateOut(Output):
    kind: str
    part: Literal["sms", "subject", "email"]
    customized: bool
    source: str | None = Field(
        description="The tenant's own template; null when the profile's default is used"
    )
    preview: str = Field(description="Rendered with sample values, as it is sent")
    problem: str | None = Field(
        default=None,
        description="Why this custom wording cannot be used (it fails with the sample values); "
        "until it is changed, messages go out in the profile's wording",
    )
    segments: SegmentsOut | None = Field(description="SMS only: what the preview costs")
