"""Shapes of the patient list and of a change to a patient's contact details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, model_validator

from backend.core.schemas import EMAIL_PATTERN, Input, Name, Output
from backend.customers.schemas import CustomerOut


class PatientOut(CustomerOut):
    created_at: datetime


class PatientPage(Output):
    items: list[PatientOut]
    next_cursor: str | None


class ContactPatch(Input):
    name: Name | None = None
    phone: str | None = Field(
        default=None, max_length=32, description='E.164 or national format; "" removes it'
    )
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN + "|^$")] | None = Field(
        default=None, description='"" removes it'
    )

    @model_validator(mode="after")
    def _something(self) -> ContactPatch:
        if self.name is None and self.phone is None and self.email is None:
            raise ValueError("give name, phone or email")
        return self


class ErasedOut(Output):
    id: str
    erased_at: datetime
