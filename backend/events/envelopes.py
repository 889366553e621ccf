"""An event as it leaves Frontdesk: the envelope the Event API returns and a webhook POSTs.

One envelope model per catalogue type (its `type` a literal, its `data` that type's schema), so
OpenAPI documents every type exactly and a client generator gets a tagged union.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, create_model

from backend.core.errors import ValidationFailed
from backend.core.event_catalogue import CATALOGUE, EventData
from backend.core.events import StoredEvent


class Envelope(BaseModel):
    id: str = Field(description="`evt_…`: unique, and the `webhook-id` of every delivery of this event")
    type: str
    version: int = Field(description="The version of this type's data schema")
    tenant_id: uuid.UUID
    occurred_at: datetime
    correlation_id: str | None = Field(
        description="The X-Correlation-Id of the request (or the id of the job) that caused it"
    )
    data: dict[str, Any]


class CustomerContact(BaseModel):
    """Sent only to endpoints that chose `full` payloads, as the customer is at delivery time."""

    id: uuid.UUID
    name: str
    phone: str | None
    email: str | None


def _envelope_for(event: type[EventData]) -> type[Envelope]:
    name = "".join(part.title() for part in event.type.replace("_", ".").split(".")) + "Event"
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __base__=Envelope,
        __doc__=f"{event.summary} (`{event.type}`, version {event.version})",
        type=(Literal[event.type], ...),  # type: ignore[valid-type]
        data=(event, ...),
    )


ENVELOPES: dict[str, type[Envelope]] = {
    event_type: _envelope_for(cls) for event_type, cls in CATALOGUE.items()
}


class _Streamed(BaseModel):
    cursor: str = Field(description="Resume after this event with `after=`")


STREAMED: list[type[BaseModel]] = [
    create_model(f"Streamed{model.__name__}", __base__=(model, _Streamed)) for model in ENVELOPES.values()
]
AnyStreamedEvent = Annotated[Union[tuple(STREAMED)], Field(discriminator="type")]  # noqa: UP007


class EventPage(BaseModel):
    data: list[AnyStreamedEvent]  # type: ignore[valid-type]
    next_cursor: str = Field(description="Pass as `after` for the next page; keep it as your checkpoint")
    has_more: bool = Field(description="More events are ready now; otherwise wait (or long-poll)")


def event_id(stored_id: int) -> str:
    return f"evt_{stored_id}"


def parse_event_id(value: str) -> int | None:
    digits = value.removeprefix("evt_")
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else None


def envelope(event: StoredEvent) -> dict[str, Any]:
    return {
        "id": event_id(event.id),
        "type": event.type,
        "version": event.version,
        "tenant_id": str(event.tenant_id),
        "occurred_at": event.occurred_at.isoformat(),
        "correlation_id": event.correlation_id,
        "data": event.data,
    }


def streamed(event: StoredEvent) -> dict[str, Any]:
    return {**envelope(event), "cursor": event.cursor.encode()}


# ---- type filters: exact types, or a whole group as `booking.*` ----

GROUPS = sorted({event_type.split(".")[0] for event_type in CATALOGUE})


def check_types(values: list[str], field: str) -> list[str]:
    """Known types and groups, deduplicated; ValidationFailed naming what is valid otherwise."""
    given = [part.strip() for value in values for part in value.split(",") if part.strip()]
    unknown = [v for v in given if v not in CATALOGUE and not (v.endswith(".*") and v[:-2] in GROUPS)]
    if unknown:
        raise ValidationFailed(
            field,
            f"unknown event type {unknown[0]!r}; use one of {', '.join(CATALOGUE)} "
            f"or a group: {', '.join(group + '.*' for group in GROUPS)}",
        )
    return list(dict.fromkeys(given))


def expand(types: list[str]) -> list[str]:
    """The exact types a filter names."""
    exact = {t for t in types if t in CATALOGUE}
    groups = {t[:-2] for t in types if t.endswith(".*")}
    return [t for t in CATALOGUE if t in exact or t.split(".")[0] in groups]
