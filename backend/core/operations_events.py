"""The catalogue's events about Frontdesk's own running, as a clinic's integration sees it: the outbox's
health, webhook endpoints and widget keys, the providers messages go through, and calendar sync."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from backend.core.event_data import EventData

# ---- the outbox's health, as the clinic sees it ----


class _OutboxAlert(EventData):
    subject: ClassVar[str] = "operator_alert_id"
    operator_alert_id: uuid.UUID
    waiting: int = Field(description="The clinic's messages due and not yet sent")
    oldest_waiting_seconds: int = Field(description="How long the oldest of them has waited")


class OutboxDelayed(_OutboxAlert):
    type: ClassVar[str] = "outbox.delayed"
    summary: ClassVar[str] = (
        "The clinic's messages are waiting longer (or piling up more) than they should; its owners were "
        "e-mailed."
    )


class OutboxRecovered(_OutboxAlert):
    type: ClassVar[str] = "outbox.recovered"
    summary: ClassVar[str] = "The clinic's delayed messages are going out on time again."


# ---- the integration itself ----


class WebhookEndpointDisabled(EventData):
    type: ClassVar[str] = "webhook_endpoint.disabled"
    subject: ClassVar[str] = "webhook_endpoint_id"
    summary: ClassVar[str] = "A webhook endpoint failed for too long and was switched off."
    webhook_endpoint_id: uuid.UUID
    failing_since: datetime


class WidgetKeyLimitReached(EventData):
    type: ClassVar[str] = "widget_key.limit_reached"
    subject: ClassVar[str] = "api_key_id"
    summary: ClassVar[str] = (
        "A publishable key started as many conversations as its ceiling allows: new visitors of the "
        "clinic's site are refused until the window frees up. Published at most once an hour per key."
    )
    api_key_id: uuid.UUID
    limit: str = Field(description="The key's ceiling, e.g. `600 per 1 hour`")
    retry_after_seconds: int = Field(description="Seconds until the key may start a conversation again")


class WebhookEndpointPaused(EventData):
    type: ClassVar[str] = "webhook_endpoint.paused"
    subject: ClassVar[str] = "webhook_endpoint_id"
    summary: ClassVar[str] = (
        "A webhook endpoint kept failing: its circuit opened, and its deliveries wait while it is "
        "probed with one request at a time until it answers again. The clinic's owners were e-mailed."
    )
    webhook_endpoint_id: uuid.UUID
    failing_since: datetime
    error: str = Field(description="The last failure, as the delivery log shows it")


class WebhookEndpointResumed(EventData):
    type: ClassVar[str] = "webhook_endpoint.resumed"
    subject: ClassVar[str] = "webhook_endpoint_id"
    summary: ClassVar[str] = "A paused webhook endpoint answered again; its waiting deliveries go now."
    webhook_endpoint_id: uuid.UUID
    failing_since: datetime


# ---- the providers messages go through ----


class _ProviderCircuit(EventData):
    subject: ClassVar[str] = "provider"
    provider: str = Field(description="`twilio` (texts) or `smtp` (e-mails)")
    channel: Literal["sms", "email"]
    waiting: int = Field(description="The clinic's messages on this channel not sent yet")


class ProviderPaused(_ProviderCircuit):
    type: ClassVar[str] = "provider.paused"
    summary: ClassVar[str] = (
        "A provider kept failing: sending through it is paused and probed until it answers again. The "
        "clinic's messages wait (none is lost); for texts, its owners were e-mailed."
    )
    retry_at: datetime = Field(description="When the provider is tried again")


class ProviderResumed(_ProviderCircuit):
    type: ClassVar[str] = "provider.resumed"
    summary: ClassVar[str] = "A paused provider answered again; the messages waiting on it go now."


# ---- calendar sync ----


class CalendarSyncFailed(EventData):
    type: ClassVar[str] = "calendar.sync_failed"
    subject: ClassVar[str] = "calendar_connection_id"
    summary: ClassVar[str] = (
        "A provider's connected calendar stopped working, or a booking could not be written to it "
        "after every retry."
    )
    calendar_connection_id: uuid.UUID
    provider_id: uuid.UUID
    failure: Literal["connection_broken", "booking_not_written"]
    appointment_id: uuid.UUID | None = Field(default=None, description="The booking not written, if any")
    error: str = Field(description="What the calendar service answered")


class CalendarConflictFound(EventData):
    type: ClassVar[str] = "calendar.conflict_found"
    subject: ClassVar[str] = "appointment_id"
    summary: ClassVar[str] = (
        "Busy time arrived from a provider's own calendar over a booking already made; the booking "
        "stays and staff are asked to sort it out."
    )
    appointment_id: uuid.UUID
    provider_id: uuid.UUID
    busy_starts_at: datetime
    busy_ends_at: datetime
