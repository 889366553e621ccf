"""Shapes of the webhooks API: endpoints, their secrets, the delivery log, replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from backend.core.schemas import Input, Moment, Output

Payload = Literal["minimal", "full"]
EVENT_TYPES_HELP = (
    "Types to send (`booking.created`) or groups (`booking.*`); empty sends every type. "
    "See the `webhooks` section of this document for each type's payload."
)


class EndpointCreate(Input):
    url: str = Field(max_length=2000, description="https://… (http only outside production)")
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(default_factory=list, max_length=100, description=EVENT_TYPES_HELP)
    payload: Payload = Field(
        default="minimal",
        description="`minimal`: ids only. `full`: also the customer's name, phone and e-mail, as they are "
        "when the event is delivered. Choose `full` only if your system needs the contact details.",
    )


class EndpointPatch(Input):
    url: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(default=None, max_length=100, description=EVENT_TYPES_HELP)
    payload: Payload | None = None
    enabled: bool | None = Field(
        default=None, description="Enabling resumes from now; replay a time range for what it missed"
    )


class EndpointOut(Output):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    payload: Payload
    enabled: bool
    disabled_reason: str | None
    failures: int = Field(
        description="Failed rounds in a row (requests in flight together that fail together count once)"
    )
    paused_until: datetime | None = Field(
        description="Set while the endpoint is paused (its circuit open): until then nothing is sent to "
        "it; then one probe, and the first success resumes it"
    )
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="While set and in the future, deliveries carry a signature with the previous secret too"
    )
    created_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="`whsec_…`: shown only now; verify `webhook-signature` with it")


class RotateIn(Input):
    overlap_hours: float = Field(
        default=24, ge=0, le=168, description="How long the previous secret keeps signing as well"
    )


class SecretOut(Output):
    secret: str = Field(description="The new `whsec_…` secret, shown only now")
    previous_secret_expires_at: datetime | None


class DeliveryOut(Output):
    id: uuid.UUID
    event_id: str | None = Field(description="`evt_…`; unset for a ping")
    message_id: str = Field(description="The `webhook-id` header: the same for every attempt and replay")
    event_type: str
    status: Literal["pending", "sending", "delivered", "retrying", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="When it is tried again, while retrying")
    response_status: int | None
    response_body: str | None = Field(description="The first 1,000 characters the receiver answered")
    latency_ms: int | None
    error: str | None
    replay_id: uuid.UUID | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(Output):
    items: list[DeliveryOut]
    next_cursor: str | None


class ReplayIn(Input):
    """One of: a delivery, an event, or a time range (events that occurred in [since, until))."""

    delivery_id: uuid.UUID | None = None
    event_id: str | None = Field(default=None, max_length=30, description="`evt_…`")
    since: Moment | None = None
    until: Moment | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ReplayIn:
        given = [self.delivery_id is not None, self.event_id is not None, self.since is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of delivery_id, event_id, or since (with until)")
        if (self.since is None) != (self.until is None):
            raise ValueError("a time range needs both since and until")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class ReplayOut(Output):
    replay_id: uuid.UUID
    queued: int = Field(description="Deliveries queued; they go out within moments")
