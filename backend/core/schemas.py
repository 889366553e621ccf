"""The shapes every domain builds on: input and output bases, validated names, patterns and the
tenant's settings. Validated at the edge, trusted inside."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# A phone number in E.164 form, as Twilio sends and expects them: "+16175550100".
E164_PATTERN = r"^\+[1-9]\d{6,14}$"


# A wall-clock time of day in the tenant's timezone ("09:00" or "09:00:00"). Declared as a
# pattern, not `format: time`: that format is RFC 3339's full-time, which requires an offset.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", "examples": ["09:00"]}
    ),
]


def _no_nul(value: Any, path: str = "") -> None:
    # PostgreSQL text cannot hold U+0000: refuse it here, with the field, not as a database error.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"{path or 'text'} contains a NUL character (U+0000)")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_nul(item, f"{path}[{index}]")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul_characters(cls, data: Any) -> Any:
        _no_nul(data)
        return data


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


def _not_ours(value: str) -> str:
    if value == "frontdesk":
        raise ValueError("'frontdesk' names the appointments made here; give your system another name")
    return value


# The name of a clinic's own system that sends its appointments ("dentrix", "front-desk-pms").
SourceName = Annotated[
    str,
    Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$", examples=["practice-pms"]),
    AfterValidator(_not_ours),
]
# That system's id for something (an appointment, a provider): printable text, as it writes it.
ExternalKey = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["A-10492"])
]


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
    # Where operational alerts go (a webhook endpoint switched off after failing for days).
    alert_email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    # Reminders this many hours before the visit, counted on the local wall clock (so "24" is the
    # same time the day before, across a DST change too).
    reminder_offsets_hours: list[Annotated[int, Field(ge=1, le=24 * 14)]] = Field(
        default_factory=lambda: [48, 24], max_length=5
    )
    # Non-urgent texts (reminders, offers, follow-ups) wait until the quiet hours are over, in the
    # recipient's timezone.
    quiet_hours_start: LocalTime = time(21, 0)
    quiet_hours_end: LocalTime = time(8, 0)
    follow_up_cooldown_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    follow_up_max_per_week: int = Field(default=2, ge=0, le=20)
    # How long a waitlist patient has the freed slot to themselves before the next one is asked.
    waitlist_offer_minutes: int = Field(default=30, ge=5, le=24 * 60)
    # Unset: no review requests.
    review_link: Annotated[str, Field(max_length=500, pattern=r"^https://\S+$")] | None = None
    review_delay_hours: int = Field(default=2, ge=0, le=24 * 14)
    # Calls answered by the receptionist at once; callers beyond it hear a busy message.
    max_concurrent_calls: int = Field(default=5, ge=1, le=100)
    # What a booking written to a provider's own calendar says about the patient.
    calendar_event_detail: Literal["service", "service_and_first_name", "service_and_full_name"] = (
        "service_and_first_name"
    )
    # The clinic's API quota: requests a minute over all its keys and workspace sessions.
    api_requests_per_minute: int = Field(default=3000, ge=10, le=100_000)
    # Appointments from the clinic's own system: the sources whose new, moved and cancelled
    # appointments are confirmed to the patient (others get reminders and all that follows, but no
    # confirmation: their system has told the patient already).
    external_confirmation_sources: list[SourceName] = Field(default_factory=list, max_length=20)
    # A patient asking to move or cancel one of those: "receptionist" does it (their system learns it
    # from the booking.rescheduled / booking.cancelled webhooks), "staff" passes it to the inbox.
    external_patient_changes: Literal["receptionist", "staff"] = "staff"

    @model_validator(mode="after")
    def _distinct_offsets(self) -> TenantSettings:
        if len(set(self.reminder_offsets_hours)) != len(self.reminder_offsets_hours):
            raise ValueError("reminder_offsets_hours must not repeat an offset")
        return self


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable: VALIDATION_ERROR, NOT_FOUND, …")
    message: str = Field(description="What went wrong, for a person")
    details: dict[str, Any] = Field(description="For validation errors, `errors`: [{field, message}]")
    retryable: bool = Field(description="True when the same request may succeed later")


class ErrorOut(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


ERROR_MEANINGS = {
    401: "No credentials, or ones that are invalid, revoked or expired",
    403: "These credentials may not do this (or the CSRF token is missing or wrong)",
    404: "Not found (another tenant's object is answered the same way)",
    409: "In conflict with the current state; the message says which",
    410: "Gone",
    413: "The body is too large; the message says the limit",
    422: "The request is invalid; `details.errors` lists each field",
    423: "Locked: too many failed attempts; try again later",
    429: "Too many requests; retry after the time in `Retry-After`",
}


def error_responses(*codes: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the errors an operation can give (`status_410="…"` to word one)."""
    return {
        code: {"model": ErrorOut, "description": meanings.get(f"status_{code}", ERROR_MEANINGS[code])}
        for code in codes
    }
