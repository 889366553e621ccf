"""What the calendar endpoints take and give. No response carries a connection's secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from backend.calendars.connections import ConnectionView
from backend.calendars.models import CalendarConflict, CalendarSource
from backend.core.schemas import Input, Output


def _server_address(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as error:
        raise ValueError(f"not a URL: {error}") from None
    if not parts.hostname or parts.username or parts.password:
        raise ValueError("an address such as https://caldav.example.com/, without credentials in it")
    return value


class CaldavConnectIn(Input):
    server_url: Annotated[
        str, Field(max_length=500, pattern=r"^https?://\S+$"), AfterValidator(_server_address)
    ] = Field(
        description="The CalDAV server, e.g. https://caldav.fastmail.com/ or https://cloud.example/remote.php/dav"
    )
    username: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="An app password: stored encrypted, never shown again"
    )


class CalendarChoice(Input):
    blocks_time: bool | None = Field(default=None, description="Its events make the provider busy")
    receives_bookings: bool | None = Field(
        default=None, description="Bookings are written here (one calendar per provider)"
    )

    @model_validator(mode="after")
    def _something(self) -> CalendarChoice:
        if self.blocks_time is None and self.receives_bookings is None:
            raise ValueError("say blocks_time, receives_bookings or both")
        return self


class CalendarOut(Output):
    id: uuid.UUID
    name: str
    blocks_time: bool
    receives_bookings: bool
    last_synced_at: datetime | None

    @classmethod
    def of(cls, source: CalendarSource) -> CalendarOut:
        return cls.model_validate(source)


class ConnectionOut(Output):
    id: uuid.UUID
    provider_id: uuid.UUID
    provider_name: str
    kind: Literal["google", "caldav"]
    account: str
    server_url: str | None
    status: Literal["connected", "broken"]
    last_error: str | None
    last_synced_at: datetime | None
    lag_seconds: int | None = Field(description="Seconds since the calendar was last read")
    in_sync: bool = Field(description="Working and read recently: its busy time is current")
    calendars: list[CalendarOut]

    @classmethod
    def of(cls, view: ConnectionView) -> ConnectionOut:
        c = view.connection
        return cls(
            id=c.id,
            provider_id=c.provider_id,
            provider_name=view.provider_name,
            kind=c.kind,  # type: ignore[arg-type]
            account=c.account,
            server_url=c.server_url,
            status=c.status,  # type: ignore[arg-type]
            last_error=c.last_error,
            last_synced_at=c.last_synced_at,
            lag_seconds=view.lag_seconds,
            in_sync=view.in_sync,
            calendars=[CalendarOut.of(s) for s in view.sources],
        )


class ConflictOut(Output):
    id: uuid.UUID
    appointment_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    detected_at: datetime

    @classmethod
    def of(cls, conflict: CalendarConflict) -> ConflictOut:
        return cls.model_validate(conflict)
