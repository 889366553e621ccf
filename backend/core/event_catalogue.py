"""The event catalogue: every event type Frontdesk publishes, its version, and the shape of its data.

Each class is one type; `events.emit` takes an instance, so a domain cannot publish an event the
catalogue does not describe, or with data of another shape. Data carries ids, times and statuses,
never a patient's name, number, address or words: an integration that wants contact details chooses
`full` payloads on its webhook endpoint and gets them resolved at delivery (backend/events/).

A change that would break a consumer (a field removed or retyped) is a new version of the type;
adding an optional field is not.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class EventData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    version: ClassVar[int] = 1
    # The field holding the id of what the event is about; its name less `_id` is the entity type.
    subject: ClassVar[str]
    summary: ClassVar[str]

    @property
    def entity_type(self) -> str:
        return self.subject.removesuffix("_id")

    @property
    def entity_id(self) -> str:
        return str(getattr(self, self.subject))


# ---- bookings ----


class BookingData(EventData):
    subject: ClassVar[str] = "appointment_id"
    appointment_id: uuid.UUID
    reference: str = Field(description="The booking reference the patient was given")
    customer_id: uuid.UUID
    provider_id: uuid.UUID
    service_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    status: Literal["booked", "confirmed", "cancelled", "completed", "no_show"]


class BookingCreated(BookingData):
    type: ClassVar[str] = "booking.created"
    summary: ClassVar[str] = "An appointment was booked (by the receptionist, the API, or a waitlist offer)."


class BookingRescheduled(BookingData):
    type: ClassVar[str] = "booking.rescheduled"
    summary: ClassVar[str] = "An appointment moved to another time or provider."
    previous_starts_at: datetime
    previous_provider_id: uuid.UUID


class BookingCancelled(BookingData):
    type: ClassVar[str] = "booking.cancelled"
    summary: ClassVar[str] = "An appointment was cancelled; its time is free again."


class BookingConfirmed(BookingData):
    type: ClassVar[str] = "booking.confirmed"
    summary: ClassVar[str] = "The patient said they will come (a reply to a reminder)."
    via: str = Field(description="How the patient confirmed, e.g. `sms`")


class BookingCompleted(BookingData):
    type: ClassVar[str] = "booking.completed"
    summary: ClassVar[str] = "Staff marked the visit as attended."


class BookingNoShow(BookingData):
    type: ClassVar[str] = "booking.no_show"
    summary: ClassVar[str] = "Staff marked the patient as not having come."


# ---- holds and the waitlist ----


class HoldExpired(EventData):
    type: ClassVar[str] = "hold.expired"
    subject: ClassVar[str] = "hold_id"
    summary: ClassVar[str] = "A slot held while a patient decided was not booked in time and is free again."
    hold_id: uuid.UUID
    provider_id: uuid.UUID
    service_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


class _Waitlist(EventData):
    subject: ClassVar[str] = "waitlist_entry_id"
    waitlist_entry_id: uuid.UUID
    customer_id: uuid.UUID
    service_id: uuid.UUID


class WaitlistOffered(_Waitlist):
    type: ClassVar[str] = "waitlist.offered"
    summary: ClassVar[str] = "A freed slot was offered to a waiting patient, held for them until it expires."
    hold_id: uuid.UUID
    provider_id: uuid.UUID
    starts_at: datetime
    expires_at: datetime


class WaitlistAccepted(_Waitlist):
    type: ClassVar[str] = "waitlist.accepted"
    summary: ClassVar[str] = "A waiting patient took the offered slot (a `booking.created` follows)."
    appointment_id: uuid.UUID


class WaitlistOfferExpired(_Waitlist):
    type: ClassVar[str] = "waitlist.offer_expired"
    summary: ClassVar[str] = "A waiting patient let the offer lapse; the slot goes to the next one."


# ---- conversations ----

Channel = Literal["web", "sms", "voice"]


class ConversationStarted(EventData):
    type: ClassVar[str] = "conversation.started"
    subject: ClassVar[str] = "conversation_id"
    summary: ClassVar[str] = "A patient started a conversation on a channel."
    conversation_id: uuid.UUID
    channel: Channel


class ConversationNeedsHuman(EventData):
    type: ClassVar[str] = "conversation.needs_human"
    subject: ClassVar[str] = "conversation_id"
    summary: ClassVar[str] = "The receptionist handed a conversation to the clinic's staff."
    conversation_id: uuid.UUID
    channel: Channel


class ConversationTakenOver(EventData):
    type: ClassVar[str] = "conversation.taken_over"
    subject: ClassVar[str] = "conversation_id"
    summary: ClassVar[str] = (
        "A member of staff took a conversation over; the receptionist stops answering it."
    )
    conversation_id: uuid.UUID
    channel: Channel
    staff_id: uuid.UUID


class ConversationHandedBack(EventData):
    type: ClassVar[str] = "conversation.handed_back"
    subject: ClassVar[str] = "conversation_id"
    summary: ClassVar[str] = "Staff handed a conversation back to the receptionist."
    conversation_id: uuid.UUID
    channel: Channel


class _ConversationFlagged(EventData):
    subject: ClassVar[str] = "conversation_id"
    conversation_id: uuid.UUID
    channel: Channel
    category: str = Field(
        description="What triage recognised, e.g. `cardiac`, `stroke`, `knocked_out_tooth`; never the "
        "patient's words"
    )


class ConversationEmergency(_ConversationFlagged):
    type: ClassVar[str] = "conversation.emergency"
    summary: ClassVar[str] = (
        "Triage recognised signs of a medical emergency in a conversation: the patient was told to call "
        "the emergency number, and the clinic is alerted (inbox, on-call text, e-mail). Once per "
        "conversation."
    )


class ConversationUrgent(_ConversationFlagged):
    type: ClassVar[str] = "conversation.urgent"
    summary: ClassVar[str] = (
        "Triage recognised an urgent dental problem in a conversation: the patient was offered the "
        "earliest time today (or a person), and the clinic is alerted. Once per conversation."
    )


# ---- messages ----


class MessageData(EventData):
    subject: ClassVar[str] = "message_id"
    message_id: uuid.UUID
    kind: str = Field(description="What the message is: `confirmation`, `reminder`, `reply`, …")
    channel: Literal["sms", "email"]
    appointment_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


class MessageQueued(MessageData):
    type: ClassVar[str] = "message.queued"
    summary: ClassVar[str] = "A message was written to the outbox; it leaves when its rules allow."


class MessageSuppressed(MessageData):
    type: ClassVar[str] = "message.suppressed"
    summary: ClassVar[str] = "A message was withheld for good (no consent, or no longer true)."
    reason: str | None = None


class MessageSent(MessageData):
    type: ClassVar[str] = "message.sent"
    summary: ClassVar[str] = "The provider accepted a message."


class MessageDelivered(MessageData):
    type: ClassVar[str] = "message.delivered"
    summary: ClassVar[str] = "The carrier reported a text delivered."


class MessageFailed(MessageData):
    type: ClassVar[str] = "message.failed"
    summary: ClassVar[str] = "A message will not arrive: refused, undeliverable, or the number opted out."
    reason: Literal["opted_out", "provider_error", "undelivered"]
    error_code: str | None = None


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


# ---- customers ----


class _Consent(EventData):
    subject: ClassVar[str] = "customer_id"
    customer_id: uuid.UUID
    channel: Literal["sms", "email"]
    source: str = Field(description="Where the change came from: `chat`, `api`, `keyword` (STOP or START)")


class CustomerOptedOut(_Consent):
    type: ClassVar[str] = "customer.opted_out"
    summary: ClassVar[str] = (
        "A patient withdrew consent to texts or e-mails (STOP, or the clinic recorded it)."
    )


class CustomerOptedIn(_Consent):
    type: ClassVar[str] = "customer.opted_in"
    summary: ClassVar[str] = "A patient gave consent to texts or e-mails (START, or the clinic recorded it)."


class CustomerErased(EventData):
    type: ClassVar[str] = "customer.erased"
    subject: ClassVar[str] = "customer_id"
    summary: ClassVar[str] = (
        "A patient's personal data was erased; their visits remain as anonymous rows. Erase your copy too."
    )
    customer_id: uuid.UUID


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


CATALOGUE: dict[str, type[EventData]] = {
    cls.type: cls
    for cls in (
        BookingCreated,
        BookingRescheduled,
        BookingCancelled,
        BookingConfirmed,
        BookingCompleted,
        BookingNoShow,
        HoldExpired,
        WaitlistOffered,
        WaitlistAccepted,
        WaitlistOfferExpired,
        ConversationStarted,
        ConversationNeedsHuman,
        ConversationTakenOver,
        ConversationHandedBack,
        ConversationEmergency,
        ConversationUrgent,
        MessageQueued,
        MessageSuppressed,
        MessageSent,
        MessageDelivered,
        MessageFailed,
        OutboxDelayed,
        OutboxRecovered,
        CustomerOptedOut,
        CustomerOptedIn,
        CustomerErased,
        WebhookEndpointDisabled,
        WidgetKeyLimitReached,
        WebhookEndpointPaused,
        WebhookEndpointResumed,
        ProviderPaused,
        ProviderResumed,
        CalendarSyncFailed,
        CalendarConflictFound,
    )
}
