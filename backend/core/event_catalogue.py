"""The event catalogue: every event type Frontdesk publishes, its version, and the shape of its data.

Each class is one type; `events.emit` takes an instance, so a domain cannot publish an event the
catalogue does not describe, or with data of another shape. Data carries ids, times and statuses,
never a patient's name, number, address or words: an integration that wants contact details chooses
`full` payloads on its webhook endpoint and gets them resolved at delivery (backend/events/).

A change that would break a consumer (a field removed or retyped) is a new version of the type;
adding an optional field is not. The events about Frontdesk's own running (outbox health, webhook
endpoints, providers, calendar sync) are declared in operations_events.py; `CATALOGUE` lists all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from backend.core.event_data import EventData
from backend.core.operations_events import (
    CalendarConflictFound,
    CalendarSyncFailed,
    OutboxDelayed,
    OutboxRecovered,
    ProviderPaused,
    ProviderResumed,
    WebhookEndpointDisabled,
    WebhookEndpointPaused,
    WebhookEndpointResumed,
    WidgetKeyLimitReached,
)

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
    source: str = Field(
        default="frontdesk",
        description="Where it was made: `frontdesk`, or the name of the clinic's own system that sent it",
    )
    external_id: str | None = Field(default=None, description="That system's id for it")


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
    summary: ClassVar[str] = "The patient said they will come (a reply to a reminder, or its e-mail link)."
    via: str = Field(description="How the patient confirmed: `sms`, `email`, `chat`, `voice` or `staff`")
    confirmed_at: datetime | None = Field(default=None, description="When the patient confirmed")


class BookingRunningLate(BookingData):
    type: ClassVar[str] = "booking.running_late"
    summary: ClassVar[str] = "The patient said they are running late for the appointment."
    via: str = Field(description="How the patient said it, e.g. `sms`")
    minutes_late: int | None = Field(
        description="How late they said they will be; null when they did not say"
    )


class BookingCompleted(BookingData):
    type: ClassVar[str] = "booking.completed"
    summary: ClassVar[str] = "Staff marked the visit as attended."


class BookingNoShow(BookingData):
    type: ClassVar[str] = "booking.no_show"
    summary: ClassVar[str] = "Staff marked the patient as not having come."


class BookingConflict(BookingData):
    type: ClassVar[str] = "booking.conflict"
    summary: ClassVar[str] = (
        "An appointment from the clinic's own system arrived over a time already taken; it was stored "
        "anyway, the others kept as they are, and staff are asked to sort it out."
    )
    conflicting_appointment_ids: list[uuid.UUID] = Field(
        description="The appointments it overlaps (ours, or others from that system)"
    )


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


CATALOGUE: dict[str, type[EventData]] = {
    cls.type: cls
    for cls in (
        BookingCreated,
        BookingRescheduled,
        BookingCancelled,
        BookingConfirmed,
        BookingRunningLate,
        BookingCompleted,
        BookingNoShow,
        BookingConflict,
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
