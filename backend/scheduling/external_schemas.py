"""Shapes of appointments from the clinic's own system: one upsert, a bulk import's rows and
per-row results, and the CSV import's mapping and preview."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from backend.core.schemas import ErrorDetail, ExternalKey, Input, Moment, Output, SourceName
from backend.customers.schemas import CustomerIn
from backend.scheduling.schemas import AppointmentOut

ExternalStatus = Literal["booked", "confirmed", "cancelled", "completed", "no_show"]
Result = Literal["created", "updated", "unchanged", "stale"]

MAX_LENGTH = timedelta(hours=24)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class ExternalAppointmentIn(Input):
    """One appointment as the clinic's system has it now. Send `version` (a number that grows with
    every change) or `updated_at` (when it last changed there): an update older than the one
    already applied is ignored, never applied over it."""

    version: int | None = Field(default=None, ge=0, le=2**62, description="Grows with every change")
    updated_at: Moment | None = Field(default=None, description="When it last changed there")
    status: ExternalStatus = "booked"
    starts_at: Moment
    ends_at: Moment
    provider_id: uuid.UUID | None = Field(default=None, description="Our provider id; or")
    provider_external_id: ExternalKey | None = Field(
        default=None, description="Your id for the provider, mapped once in the provider's `external_ids`"
    )
    service_id: uuid.UUID | None = Field(default=None, description="Optional: our service id; or")
    service_external_id: ExternalKey | None = Field(
        default=None, description="Optional: your id for the service, mapped in its `external_ids`"
    )
    customer: CustomerIn
    notes: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> ExternalAppointmentIn:
        if self.version is None and self.updated_at is None:
            raise ValueError("send version or updated_at, so an older update never overwrites a newer one")
        if (self.provider_id is None) == (self.provider_external_id is None):
            raise ValueError("give exactly one of provider_id and provider_external_id")
        if self.service_id is not None and self.service_external_id is not None:
            raise ValueError("give service_id or service_external_id, not both")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > MAX_LENGTH:
            raise ValueError("an appointment may last at most 24 hours")
        if not EARLIEST <= self.starts_at < LATEST:
            raise ValueError("starts_at must be between the years 2000 and 2100")
        return self


class ExternalRowIn(ExternalAppointmentIn):
    """One row of a bulk import: the appointment with its source and id."""

    source: SourceName
    external_id: ExternalKey


class ExternalAppointmentState(Output):
    conflicts_with: list[uuid.UUID] = Field(
        description="Appointments it overlaps: it was stored anyway, and flagged to staff"
    )
    appointment: AppointmentOut


class ExternalAppointmentOut(ExternalAppointmentState):
    result: Result = Field(
        description="created | updated | unchanged (nothing new) | stale (older than what is stored: ignored)"
    )


class BookingConflictOut(Output):
    """An appointment from the clinic's own system stored over a time already taken."""

    appointment: AppointmentOut
    overlaps: list[AppointmentOut]


class RowResult(Output):
    index: int = Field(description="The row's position in the request (from 0), or its CSV line")
    source: str | None = None
    external_id: str | None = None
    result: Result | Literal["error"]
    appointment_id: uuid.UUID | None = None
    reference: str | None = None
    conflicts_with: list[uuid.UUID] = Field(default_factory=list)
    error: ErrorDetail | None = None


class BulkOut(Output):
    counts: dict[str, int] = Field(description="Rows per result: created, updated, unchanged, stale, error")
    results: list[RowResult]


CsvField = Literal[
    "external_id",
    "starts_at",
    "ends_at",
    "duration_minutes",
    "provider",
    "service",
    "name",
    "phone",
    "email",
    "status",
    "version",
    "updated_at",
    "notes",
]


class CsvIn(Input):
    """A CSV file and how its columns map to an appointment's fields. Times without an offset are
    read on the clinic's wall clock."""

    source: SourceName
    csv: str = Field(min_length=1, description="The file's text (UTF-8)")
    mapping: dict[CsvField, Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, description="Field -> column heading; omitted: guessed from the headings"
    )
    date_order: Literal["month_first", "day_first"] | None = Field(
        default=None, description="How to read 03/04/2027; default: by the clinic's country"
    )


class CsvPreviewRow(Output):
    line: int
    external_id: str | None
    starts_at: datetime | None
    provider: str | None
    patient: str | None
    errors: list[str]


class CsvPreviewOut(Output):
    columns: list[str]
    mapping: dict[str, str]
    rows: int
    valid: int
    # Every row with an error, and the first valid ones.
    lines: list[CsvPreviewRow]


def error_detail(code: str, message: str, details: dict[str, Any] | None = None) -> ErrorDetail:
    return ErrorDetail(code=code, message=message, details=details or {}, retryable=False)
