"""The shapes every domain builds on: input and output bases, validated names, patterns and the
tenant's settings. Validated at the edge, trusted inside."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# A phone number in E.164 form, as Twilio sends and expects them: "+16175550100".
E164_PATTERN = r"^\+[1-9]\d{6,14}$"


_WALL_CLOCK = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?"


def _wall_clock(value: Any) -> Any:
    # Only the written form: pydantic would also take a number of seconds (0) or a time with an
    # offset ("08:00+02:00"), which then cannot be compared with the clinic's naive times.
    if isinstance(value, time) and value.tzinfo is None:
        return value
    if isinstance(value, str) and re.fullmatch(_WALL_CLOCK, value):
        return value
    raise ValueError(
        "a time of day such as '09:00' (24-hour, no UTC offset: it is read on the clinic's wall clock)"
    )


def _e164(value: str) -> str:
    if not re.fullmatch(E164_PATTERN, value):
        raise ValueError("must be a phone number in E.164 form, like +16175550100")
    return value


E164Phone = Annotated[
    str,
    AfterValidator(_e164),
    WithJsonSchema({"type": "string", "pattern": E164_PATTERN, "examples": ["+16175550100"]}),
]


# A wall-clock time of day in the tenant's timezone ("09:00" or "09:00:00"). Declared as a
# pattern, not `format: time`: that format is RFC 3339's full-time, which requires an offset.
LocalTime = Annotated[
    time,
    BeforeValidator(_wall_clock),
    WithJsonSchema({"type": "string", "pattern": f"^{_WALL_CLOCK}$", "examples": ["09:00"]}),
]

# The dates the API takes. Wide enough for any booking, closure or audit query; narrow enough that
# moving a date to a clinic's timezone or adding a search window to it stays within what Python
# and PostgreSQL can represent (years 0001 and 9999 were 500s).
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
_SPAN = f"between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}"


def _day_in_span(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise ValueError(f"a date {_SPAN}")
    return value


def _moment_in_span(value: datetime) -> datetime:
    # The date as written, in its own offset: converting 0001-01-01T00:00+05:00 to UTC overflows.
    if not EARLIEST_DAY <= value.date() <= LATEST_DAY:
        raise ValueError(f"a time {_SPAN}")
    return value


Day = Annotated[date, AfterValidator(_day_in_span)]
Moment = Annotated[AwareDatetime, AfterValidator(_moment_in_span)]


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


def _nul_free(value: str) -> str:
    _no_nul(value, "field")
    return value


# A form field (the workspace's sign-in and reset forms) under the same rule as a JSON body.
FormText = Annotated[str, AfterValidator(_nul_free)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul_characters(cls, data: Any) -> Any:
        _no_nul(data)
        return data


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# The IANA zones, from the tzdata package's own list: never a file name of this machine's zone
# directory ("localtime", "posixrules"), and not "Factory" (a placeholder meaning "not set").
TIMEZONES = frozenset(resources.files("tzdata").joinpath("zones").read_text().split()) - {"Factory"}
MAX_TIMEZONE_CHARS = 64


def _valid_timezone(value: str) -> str:
    if value not in TIMEZONES:
        shown = value if len(value) <= MAX_TIMEZONE_CHARS else value[:MAX_TIMEZONE_CHARS] + "…"
        raise ValueError(f"unknown timezone {shown!r}; use an IANA name such as 'America/New_York'")
    return value


_ORIGIN = re.compile(r"(https?)://([A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?")


def _valid_origin(value: str) -> str:
    match = _ORIGIN.fullmatch(value)
    labels_ok = match is not None and all(1 <= len(label) <= 63 for label in match[2].split("."))
    port_ok = match is not None and (match[3] is None or 1 <= int(match[3]) <= 65535)
    if not (labels_ok and port_ok):
        raise ValueError(
            f"{value[:300]!r} is not an origin like 'https://clinic.example' (scheme, host name, and "
            "a port from 1 to 65535 if not the default)"
        )
    return value.lower()


# Deliberately loose: something@domain.tld. Deliverability is the mail server's business.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Timezone = Annotated[str, AfterValidator(_valid_timezone)]
# Scheme, a host name of at most 253 characters, and a port: never longer than the 300 characters a
# conversation keeps of the origin it was opened from.
Origin = Annotated[str, Field(max_length=270), AfterValidator(_valid_origin)]
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
    staff_phone: E164Phone | None = None
    # Texted at once when triage flags an emergency or an urgent dental problem, day or night.
    on_call_phone: E164Phone | None = None
    # Where operational alerts go (a webhook endpoint switched off after failing for days, and
    # emergencies and urgent problems flagged in conversations).
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
    # Who must sign in with a second factor (a TOTP code or a recovery code) after the password.
    two_factor_required: Literal["nobody", "owners", "everyone"] = "nobody"
    # Retention (`backend/retention/`): what the nightly purge removes once it is older than this.
    # What patients and staff wrote or said: message bodies in conversations, call transcripts.
    retention_message_days: int = Field(default=365, ge=1, le=36_500)
    # Call records (who called, when, how it ended), with whatever is left of their turns.
    retention_call_days: int = Field(default=365, ge=1, le=36_500)
    # A conversation's gathered state (name, contact, the booking being made), once it is idle.
    retention_conversation_state_days: int = Field(default=90, ge=1, le=36_500)
    # Bodies and subjects of messages the outbox has finished with (sent, failed, cancelled…).
    retention_outbox_days: int = Field(default=90, ge=1, le=36_500)
    # The stored copy of each inbound text (the conversation keeps its own, under the message rule).
    retention_inbound_text_days: int = Field(default=90, ge=1, le=36_500)
    # Audit rows are archived to JSON Lines under the data dir, then removed from the database.
    retention_audit_years: int = Field(default=6, ge=1, le=100)

    # Switches the clinic controls (enforced by the policy engine, policy/switches.py). Off: texts
    # to its numbers reach staff with no automated answer; calls hear a short message and are put
    # through to `staff_phone`; the chat widget says chat is unavailable and gives the phone.
    sms_enabled: bool = True
    voice_enabled: bool = True
    web_chat_enabled: bool = True
    # Off: the rules read every message, even where a language model is configured.
    language_model_enabled: bool = True
    waitlist_enabled: bool = True
    # Off: the receptionist offers no Cancel (or Reschedule) and says to call the clinic instead.
    patients_may_cancel: bool = True
    patients_may_reschedule: bool = True
    # On: no reminders, follow-ups, review requests or no-show notes; staff replies and the
    # confirmation of what a patient just did still go.
    automated_messages_paused: bool = False

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
    429: "Too many requests; retry after the time in `Retry-After`",
}


def error_responses(*codes: int, **meanings: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the errors an operation can give (`status_410="…"` to word one)."""
    return {
        code: {"model": ErrorOut, "description": meanings.get(f"status_{code}", ERROR_MEANINGS[code])}
        for code in codes
    }
