"""What the agent needs from the practice it works for, as Protocols the backend implements.

The agent never touches the database: every read and write goes through a `Desk`, bound by the
backend to one tenant and one conversation. Failures come back as `ToolFailure` with a stable code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Protocol

from policy.engine import BookingFacts, Decision, Switches, ToolCall


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    duration_minutes: int
    description: str = ""
    aliases: tuple[str, ...] = ()
    # The providers who give it; empty means any provider.
    provider_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProviderInfo:
    id: str
    name: str


@dataclass(frozen=True)
class SlotInfo:
    starts_at: datetime
    provider_id: str
    provider_name: str


@dataclass(frozen=True)
class HoldInfo:
    id: str
    service_id: str
    service_name: str
    provider_name: str
    starts_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class BookingInfo:
    id: str
    reference: str
    customer_id: str
    customer_name: str
    service_id: str
    service_name: str
    provider_name: str
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True)
class WaitlistInfo:
    id: str
    service_name: str
    first_day: date
    last_day: date


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str | None = None
    email: str | None = None
    # The patient agreed to texts about the appointment (they were told, and did not decline).
    texts: bool = False


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class ClosureInfo:
    """A time the whole practice is closed (a holiday, a training day), with the reason it gives."""

    starts_at: datetime
    ends_at: datetime
    reason: str = ""


# The practice's opening hours for one weekday: (opens, closes) pairs; empty when it is closed.
DayHours = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class PracticeInfo:
    """What the receptionist knows about the practice without asking a tool."""

    name: str
    timezone: str
    country: str
    opening_hours: tuple[str, ...]
    hold_minutes: int
    far_date_confirm_days: int
    staff_phone: str | None = None
    services: tuple[ServiceInfo, ...] = field(default_factory=tuple)
    providers: tuple[ProviderInfo, ...] = field(default_factory=tuple)
    # The clinic's FAQ; empty while it has none (then no reply may state a price or a policy).
    faq: tuple[FaqEntry, ...] = ()
    # The kind of practice (healthcare, salon, legal, general): which services it may be asked for.
    profile: str = "general"
    # Monday first, the hours any provider works; empty when not known (every day counts as open).
    week: tuple[DayHours, ...] = ()
    closures: tuple[ClosureInfo, ...] = ()
    # What the clinic lets its receptionist do; every tool call is judged against them.
    switches: Switches = field(default_factory=Switches)


class ToolFailure(Exception):
    """A tool ran and said no: SLOT_TAKEN, SLOT_UNAVAILABLE, HOLD_EXPIRED, NOT_FOUND, CONFLICT, ...;
    PASSED_TO_STAFF: the change is for the clinic's staff to make, they have the request, and the
    message says so to the patient."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Desk(Protocol):
    async def list_services(self) -> list[ServiceInfo]: ...

    async def find_slots(self, service_id: str, first_day: date, last_day: date) -> list[SlotInfo]: ...

    async def hold_slot(
        self, service_id: str, starts_at: datetime, provider_id: str | None, replace_hold_id: str | None
    ) -> HoldInfo: ...

    async def release_hold(self, hold_id: str) -> None: ...

    async def confirm_booking(self, hold_id: str, contact: Contact, notes: str) -> BookingInfo: ...

    async def booking_facts(self, reference: str) -> BookingFacts | None: ...

    async def get_booking(self, reference: str) -> BookingInfo: ...

    async def upcoming_bookings(self, customer_id: str | None, phone: str | None) -> list[BookingInfo]: ...

    async def reschedule_booking(self, reference: str, starts_at: datetime) -> BookingInfo: ...

    async def cancel_booking(self, reference: str, reason: str) -> BookingInfo: ...

    async def join_waitlist(
        self, service_id: str, first_day: date, last_day: date, part_of_day: str | None, contact: Contact
    ) -> WaitlistInfo: ...

    async def request_human(self, reason: str) -> None: ...

    async def record_decision(self, call: ToolCall, decision: Decision) -> None: ...

    async def record_triage(self, category: str, dismissed_because: str | None = None) -> None:
        """Audit a triage decision: an emergency, or a warning sign set aside and why."""
        ...

    def normalize_contact(self, text: str) -> str | None:
        """An E.164 phone number or a lower-cased e-mail, or None if `text` is neither."""
        ...
