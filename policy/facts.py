"""What a policy decision is made from: the call, the facts of the turn, and the decision itself.

Shared by the rules (`engine`, `confirmation`, `outbound`); pure data, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CHAT_TOOLS = frozenset(
    {
        "list_services",
        "check_availability",
        "hold_slot",
        "release_hold",
        "confirm_booking",
        "lookup_booking",
        "reschedule_booking",
        "cancel_booking",
        "join_waitlist",
        "request_human",
    }
)
WORKER_ACTIONS = frozenset(
    {
        "send_confirmation",
        "send_reminder",
        "send_follow_up",
        "offer_waitlist_slot",
        "send_review_request",
        "mark_no_show",
    }
)
# Tools that change something; none of them runs in a turn that triage flagged as an emergency.
TRANSACTIONAL = frozenset(
    {"hold_slot", "confirm_booking", "reschedule_booking", "cancel_booking", "join_waitlist"}
)
CHANNEL_ALLOWLIST: Mapping[str, frozenset[str]] = {
    "web": CHAT_TOOLS,
    "sms": CHAT_TOOLS,
    "voice": CHAT_TOOLS,
    "worker": WORKER_ACTIONS,
}
# Channels where the sender's phone number is the identity (Twilio vouches for it).
PHONE_CHANNELS = frozenset({"sms", "voice"})
MAX_SEARCH_DAYS = 14


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str


@dataclass(frozen=True)
class BookingFacts:
    """The booking a call is about, as stored: whose it is and how to reach them."""

    reference: str
    customer_id: str
    phone: str | None
    email: str | None
    # What a move's summary names: the visit and when it is now.
    service_name: str = ""
    starts_at: datetime | None = None


@dataclass(frozen=True)
class PendingCancel:
    reference: str
    asked_in_turn: int


@dataclass(frozen=True)
class Summary:
    """What the patient is asked to agree to before a booking or a move: the words they are shown,
    and the facts those words name. A yes is bound to the facts: change one, and a new yes is due."""

    action: str  # confirm_booking | reschedule_booking
    text: str
    facts: tuple[str, ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256("\x1f".join((self.action, *self.facts)).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PendingConfirmation:
    """A summary shown to the patient, waiting for their yes."""

    action: str
    digest: str
    asked_in_turn: int


@dataclass(frozen=True)
class OutboundFacts:
    """What an autonomous message needs known about its recipient on one channel (sms | email)."""

    channel: str
    has_address: bool
    consented: bool
    opted_out: bool
    recipient_timezone: str
    quiet_start: time
    quiet_end: time
    # Messages of the same kind to this recipient: how many in the cap window, and the latest.
    sent_in_window: int = 0
    cap: int | None = None
    last_sent_at: datetime | None = None
    cooldown: timedelta | None = None


@dataclass(frozen=True)
class Switches:
    """What the clinic lets its receptionist do (policy/switches.py holds the rules)."""

    sms: bool = True
    voice: bool = True
    web_chat: bool = True
    language_model: bool = True
    waitlist: bool = True
    self_cancel: bool = True
    self_reschedule: bool = True
    # True stops reminders, follow-ups, review requests and no-show notes; replies to what a
    # patient just did (a booking's confirmation) and staff replies still go.
    automated_paused: bool = False


@dataclass(frozen=True)
class PolicyContext:
    channel: str
    now: datetime
    timezone: str
    turn: int
    user_text: str = ""
    emergency: bool = False
    far_date_confirm_days: int | None = None
    active_hold_id: str | None = None
    verified_customer_id: str | None = None
    # SMS and voice: the sender's number in E.164, as Twilio reported it.
    channel_phone: str | None = None
    target: BookingFacts | None = None
    pending_cancel: PendingCancel | None = None
    # The summary this call would carry out, and the one shown and asked about (if any).
    summary: Summary | None = None
    pending_confirmation: PendingConfirmation | None = None
    has_contact: bool = False
    outbound: OutboundFacts | None = None
    # The clinic's switches; None (not known) denies every call.
    switches: Switches | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()


class MissingFact(Exception):
    def __init__(self, fact: str) -> None:
        super().__init__(fact)
        self.fact = fact


def need(value: Any, fact: str) -> Any:
    if value is None:
        raise MissingFact(fact)
    return value


Rule = Callable[[ToolCall, PolicyContext], Decision]


def allow(rule: str, reason: str = "allowed") -> Decision:
    return Decision(True, rule, reason)


def deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)
