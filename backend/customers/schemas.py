"""Shapes of a customer (patient) as given to and shown by the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from backend.core.schemas import EMAIL_PATTERN, Input, Name, Output


class CustomerIn(Input):
    name: Name
    phone: str | None = Field(default=None, max_length=32, description="E.164, or national format")
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)] | None = None
    sms_consent: bool = Field(default=True, description="Appointment texts (confirmations, reminders)")
    email_consent: bool = Field(default=True, description="Appointment e-mails")

    @model_validator(mode="after")
    def _reachable(self) -> CustomerIn:
        if not self.phone and not self.email:
            raise ValueError("a customer needs a phone number or an e-mail address")
        return self


class CustomerOut(Output):
    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None


class ConsentOut(Output):
    granted: bool
    source: str | None = Field(
        description="chat | api | keyword | unknown (recorded before sources were kept)"
    )
    at: datetime | None = Field(description="When it was last given or withdrawn")


class CustomerConsents(Output):
    sms: ConsentOut
    email: ConsentOut


class CustomerDetailOut(CustomerOut):
    consent: CustomerConsents


class ConsentPatch(Input):
    sms: bool | None = Field(default=None, description="Appointment texts (confirmations, reminders)")
    email: bool | None = Field(default=None, description="Appointment e-mails")

    @model_validator(mode="after")
    def _something(self) -> ConsentPatch:
        if self.sms is None and self.email is None:
            raise ValueError("give sms, email or both")
        return self
