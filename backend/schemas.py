"""Shapes of what comes in and goes out: validated at the edge, trusted inside."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# A phone number in E.164 form, as Twilio sends and expects them: "+16175550100".
E164_PATTERN = r"^\+[1-9]\d{6,14}$"


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _valid_timezone(value: str) -> str:
    # ZoneInfo accepts some file names that are not zones ("posixrules"); the catalogue is the truth.
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown timezone {value!r}; use an IANA name such as 'America/New_York'"
        ) from error
    if value not in available_timezones():
        raise ValueError(f"unknown timezone {value!r}; use an IANA name such as 'America/New_York'")
    return value


def _valid_origin(value: str) -> str:
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", value):
        raise ValueError(
            f"{value!r} is not an origin like 'https://clinic.example' (scheme, host, optional port)"
        )
    return value.lower()


# Deliberately loose: something@domain.tld. Deliverability is the mail server's business.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Timezone = Annotated[str, AfterValidator(_valid_timezone)]
Origin = Annotated[str, AfterValidator(_valid_origin)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]


class TenantSettings(Input):
    hold_ttl_minutes: int = Field(default=5, ge=1, le=60)
    min_lead_minutes: int = Field(default=60, ge=0, le=60 * 24 * 14)
    max_days_ahead: int = Field(default=90, ge=1, le=730)
    slot_step_minutes: int = Field(default=15, ge=5, le=240)
    # Dates further ahead than this need an explicit confirmation in conversations.
    far_date_confirm_days: int = Field(default=30, ge=1, le=730)
    # Region for phone numbers written without a country code.
    default_country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    # A number where patients reach a person; offered when they ask for one.
    staff_phone: str | None = Field(default=None, pattern=E164_PATTERN)
    # Reminders this many hours before the visit, counted on the local wall clock (so "24" is the
    # same time the day before, across a DST change too).
    reminder_offsets_hours: list[Annotated[int, Field(ge=1, le=24 * 14)]] = Field(
        default_factory=lambda: [48, 24], max_length=5
    )
    # Non-urgent texts (reminders, offers, follow-ups) wait until the quiet hours are over, in the
    # recipient's timezone.
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    follow_up_cooldown_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    follow_up_max_per_week: int = Field(default=2, ge=0, le=20)
    # How long a waitlist patient has the freed slot to themselves before the next one is asked.
    waitlist_offer_minutes: int = Field(default=30, ge=5, le=24 * 60)
    # Unset: no review requests.
    review_link: Annotated[str, Field(max_length=500, pattern=r"^https://\S+$")] | None = None
    review_delay_hours: int = Field(default=2, ge=0, le=24 * 14)
    # Calls answered by the receptionist at once; callers beyond it hear a busy message.
    max_concurrent_calls: int = Field(default=5, ge=1, le=100)

    @model_validator(mode="after")
    def _distinct_offsets(self) -> TenantSettings:
        if len(set(self.reminder_offsets_hours)) != len(self.reminder_offsets_hours):
            raise ValueError("reminder_offsets_hours must not repeat an offset")
        return self


class HoursIn(Input):
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    opens_at: time
    closes_at: time

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
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _order(self) -> ClosureIn:
        if self.starts_at >= self.ends_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class TenantCreate(Input):
    name: Name
    slug: Slug
    timezone: Timezone
    profile: Literal["healthcare", "salon", "legal", "general"] = "healthcare"
    settings: TenantSettings = Field(default_factory=TenantSettings)
    providers: list[ProviderIn] = Field(min_length=1, max_length=200)
    services: list[ServiceIn] = Field(min_length=1, max_length=500)
    closures: list[ClosureIn] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _consistent_names(self) -> TenantCreate:
        provider_names = [p.name for p in self.providers]
        if len(set(provider_names)) != len(provider_names):
            raise ValueError("provider names must be unique")
        service_names = [s.name for s in self.services]
        if len(set(service_names)) != len(service_names):
            raise ValueError("service names must be unique")
        known = set(provider_names)
        for service in self.services:
            unknown = [name for name in service.providers if name not in known]
            if unknown:
                raise ValueError(f"service {service.name!r} names unknown providers: {', '.join(unknown)}")
        for closure in self.closures:
            if closure.provider is not None and closure.provider not in known:
                raise ValueError(f"closure names unknown provider {closure.provider!r}")
        return self


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


class HoldCreate(Input):
    service_id: uuid.UUID
    provider_id: uuid.UUID | None = Field(default=None, description="Omit to take any provider free then")
    starts_at: AwareDatetime
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
    starts_at: AwareDatetime
    customer: CustomerIn
    notes: str = Field(default="", max_length=2000)


class RescheduleIn(Input):
    starts_at: AwareDatetime
    provider_id: uuid.UUID | None = Field(default=None, description="Omit to keep the same provider")


class CancelIn(Input):
    reason: str = Field(default="", max_length=500)


class ApiKeyCreate(Input):
    kind: Literal["secret", "publishable"]
    name: str = Field(default="", max_length=100)
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _origins_for_publishable(self) -> ApiKeyCreate:
        if self.kind == "publishable" and not self.allowed_origins:
            raise ValueError("a publishable key needs at least one allowed origin")
        if self.kind == "secret" and self.allowed_origins:
            raise ValueError("allowed_origins only applies to publishable keys")
        return self


class PhoneNumberIn(Input):
    number: str = Field(min_length=3, max_length=32, description="The Twilio number, in any common format")
    label: str = Field(default="", max_length=100)


# ---- responses ----


class HoursOut(Output):
    weekday: str
    opens_at: time
    closes_at: time


class ProviderOut(Output):
    id: uuid.UUID
    name: str
    kind: str
    active: bool
    hours: list[HoursOut] = []


class ServiceOut(Output):
    id: uuid.UUID
    name: str
    description: str
    aliases: list[str]
    duration_minutes: int
    buffer_minutes: int
    provider_ids: list[uuid.UUID] = []


class TenantOut(Output):
    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    profile: str
    settings: TenantSettings


class PhoneNumberOut(Output):
    id: uuid.UUID
    number: str
    label: str
    created_at: datetime


class ApiKeyOut(Output):
    id: uuid.UUID
    kind: str
    name: str
    prefix: str
    masked: str
    allowed_origins: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key. Shown once: only its hash is stored.")


class TenantCreated(Output):
    tenant: TenantOut
    providers: list[ProviderOut]
    services: list[ServiceOut]
    api_key: ApiKeyCreated


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


class HoldOut(Output):
    id: uuid.UUID
    service_id: uuid.UUID
    provider_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    expires_at: datetime
    status: str


class CustomerOut(Output):
    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None


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


class AppointmentPage(Output):
    items: list[AppointmentOut]
    next_cursor: str | None


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


class ChatMessageOut(Output):
    seq: int
    role: Literal["patient", "assistant"]
    text: str
    quick_replies: list[dict[str, str]]
    card: dict[str, object] | None
    client_message_id: str | None
    at: datetime


class ChatMessagesOut(Output):
    token: str
    messages: list[ChatMessageOut]


class ConversationOut(Output):
    id: uuid.UUID
    channel: str
    status: str
    last_seq: int
    created_at: datetime
    updated_at: datetime


class TenantSettingsPatch(Input):
    """Settings to change; the others keep their values. The merged result is validated as a whole."""

    settings: dict[str, object] = Field(min_length=1)


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
    appointment_id: uuid.UUID | None
    created_at: datetime


class NotificationPage(Output):
    items: list[NotificationOut]


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
    preview: str = Field(description="Rendered with sample values")
    segments: SegmentsOut | None = Field(description="SMS only: what the preview costs")
