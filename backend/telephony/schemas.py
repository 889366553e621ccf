"""Shapes of a tenant's phone numbers and its own Twilio account."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from pydantic import Field, SecretStr, field_validator

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


class TwilioAccountIn(Input):
    """The clinic's own Twilio account or subaccount. The token is stored sealed and never shown again."""

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$", description="AC…, 34 characters")
    auth_token: SecretStr = Field(description="The account's auth token (32 characters)")

    @field_validator("auth_token")
    @classmethod
    def _token_shape(cls, token: SecretStr) -> SecretStr:
        if not re.fullmatch(r"[0-9A-Za-z]{32}", token.get_secret_value()):
            raise ValueError("a Twilio auth token is 32 letters and digits")
        return token


class TwilioAccountOut(Output):
    account_sid: str
    created_at: datetime
    updated_at: datetime
