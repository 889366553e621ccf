"""Shapes of a tenant's phone numbers."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from backend.core.schemas import Input, Output


class PhoneNumberIn(Input):
    number: str = Field(min_length=3, max_length=32, description="The Twilio number, in any common format")
    label: str = Field(default="", max_length=100)


# ---- responses ----


class PhoneNumberOut(Output):
    id: uuid.UUID
    number: str
    label: str
    created_at: datetime
