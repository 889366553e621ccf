"""Shapes of the scheduling API: catalogue, hours, closures, availability, holds, bookings."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from backend.core.schemas import (
    WEEKDAYS,
    ExternalKey,
    Input,
    LocalTime,
    Moment,
    Name,
    Output,
    SourceName,
)
from backend.customers.schemas import CustomerIn, CustomerOut


class HoursIn(Input):
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    opens_at: LocalTime
    closes_at: LocalTime

    @model_validator(mode="after")
    def _order(self) -> HoursIn:
        if self.opens_at >= self.closes_at:
            raise ValueError(f"opens_at {self.opens_at} must be before closes_at {self.closes_at}")
        return self


class ProviderIn(Input):
    name: Name
    kind: Literal["person", "room"] = "person"
    hours: list[HoursIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _no_overlapping_hours(self) -> ProviderIn:
        for day in WEEKDAYS:
            spans = sorted((h.opens_at, h.closes_at) for h in self.hours if h.weekday == day)
            for (_, first_close), (second_open, _) in itertools.pairwise(spans):
                if second_open < first_close:
                    raise ValueError(f"opening hours on {day} overlap")
        return self


class ServiceIn(Input):
    name: Name
    description: str = Field(default="", max_length=2000)
    aliases: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=30
    )
    duration_minutes: int = Field(ge=5, le=720)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    # Names of the providers who offer it; empty means every provider.
    providers: list[Name] = Field(default_factory=list)


class ClosureIn(Input):
    provider: Name | None = Field(default=None, description="Provider name; omit to close the whole practice")
    starts_at: Moment
    ends_at: Moment
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _order(self) -> ClosureIn:
        if self.starts_at >= self.ends_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class HoldCreate(Input):
    service_id: uuid.UUID
    provider_id: uuid.UUID | None = Field(default=None, description="Omit to take any provider free then")
    starts_at: Moment
    session_key: str = Field(default="api", min_length=1, max_length=150)


class HoldConfirm(Input):
    customer: CustomerIn
    notes: str = Field(default="", max_length=2000)
    session_key: str = Field(default="api", min_length=1, max_length=150)


class HoldRelease(Input):
    session_key: str = Field(default="api", min_length=1, max_length=150)


class BookingCreate(Input):
    service_id: uuid.UUID
    provider_id: uuid.UUID | None = None
    starts_at: Moment
    customer: CustomerIn
    notes: str = Field(default="", max_length=2000)


class RescheduleIn(Input):
    starts_at: Moment
    provider_id: uuid.UUID | None = Field(default=None, description="Omit to keep the same provider")


class CancelIn(Input):
    reason: str = Field(default="", max_length=500)


class HoursOut(Output):
    weekday: str
    opens_at: LocalTime
    closes_at: LocalTime


ExternalIds = dict[SourceName, ExternalKey]
EXTERNAL_IDS_HELP = (
    'The ids your own systems use for it, by source (`{"practice-pms": "DR7"}`): appointments they '
    "send name it by these. Replaces the ones stored; `{}` removes them."
)


class ProviderOut(Output):
    id: uuid.UUID
    name: str
    kind: str
    active: bool
    hours: list[HoursOut] = []
    external_ids: dict[str, str] = Field(default_factory=dict, description="Your systems' ids, by source")


class ServiceOut(Output):
    id: uuid.UUID
    name: str
    description: str
    aliases: list[str]
    duration_minutes: int
    buffer_minutes: int
    provider_ids: list[uuid.UUID] = []
    external_ids: dict[str, str] = Field(default_factory=dict, description="Your systems' ids, by source")


class SlotOut(Output):
    starts_at: datetime
    ends_at: datetime
    local_date: date
    local_time: str
    provider_id: uuid.UUID
    provider_name: str


class AvailabilityOut(Output):
    service_id: uuid.UUID
    timezone: str
    slots: list[SlotOut]
    out_of_sync_provider_ids: list[uuid.UUID] = Field(
        default_factory=list,
        description="Providers whose connected calendar is broken or not read lately: their free "
        "times may include busy time not yet seen",
    )


class HoldOut(Output):
    id: uuid.UUID
    service_id: uuid.UUID
    provider_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    status: str


class AppointmentOut(Output):
    id: uuid.UUID
    reference: str
    status: str
    service_id: uuid.UUID
    provider_id: uuid.UUID
    service_name: str
    provider_name: str
    starts_at: datetime
    ends_at: datetime
    customer: CustomerOut
    notes: str
    cancel_reason: str | None
    confirmed_at: datetime | None = Field(description="When the patient said they will come")
    confirmed_via: str | None = Field(
        description="How they said it: `sms`, `email`, `chat`, `voice` or `staff`; null while unconfirmed"
    )
    late_minutes: int | None = Field(
        description="The patient said they are running this many minutes late (0: late, no figure given)"
    )
    booked_via: str | None = Field(
        description="Who booked it: `conversation`, `staff`, `api`, `waitlist` or `system`"
    )
    source: str = Field(
        default="frontdesk", description="`frontdesk`, or the name of the clinic's own system that sent it"
    )
    external_id: str | None = Field(default=None, description="That system's id for it")


class AppointmentPage(Output):
    items: list[AppointmentOut]
    next_cursor: str | None


class ProviderPatch(Input):
    name: Name | None = None
    kind: Literal["person", "room"] | None = None
    active: bool | None = Field(default=None, description="false: no new bookings; existing ones stay")
    external_ids: ExternalIds | None = Field(default=None, max_length=20, description=EXTERNAL_IDS_HELP)


class WeekHoursIn(Input):
    """A provider's whole week: every open interval. A break is the gap between two intervals."""

    hours: list[HoursIn] = Field(max_length=100)

    @model_validator(mode="after")
    def _no_overlapping_hours(self) -> WeekHoursIn:
        ProviderIn(name="check", hours=self.hours)
        return self


class ServicePatch(Input):
    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    aliases: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=30
    )
    duration_minutes: int | None = Field(default=None, ge=5, le=720)
    buffer_minutes: int | None = Field(default=None, ge=0, le=240)
    provider_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=200, description="Who gives it; empty means every provider"
    )
    active: bool | None = Field(default=None, description="false: no longer offered; past bookings stay")
    external_ids: ExternalIds | None = Field(default=None, max_length=20, description=EXTERNAL_IDS_HELP)
