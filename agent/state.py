"""A conversation's memory between turns; stored as JSON by the backend, so a restart loses nothing."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from agent.ports import HoldInfo
from policy.engine import PendingCancel, PendingConfirmation


class OfferedSlot(BaseModel):
    starts_at: datetime
    provider_id: str
    provider_name: str


class Choice(BaseModel):
    label: str
    value: str
    # When the choice is a time (an offered slot, a booking), so "the Tuesday one" can find it.
    starts_at: datetime | None = None


class Asked(BaseModel):
    """The question on the table, to come back to after a question off the path."""

    text: str
    choices: list[Choice] = Field(default_factory=list)


class LapsedHold(BaseModel):
    """A held time that ran out before the patient said yes: a late yes checks it again."""

    service_id: str
    starts_at: datetime


class Search(BaseModel):
    """What the patient is looking for (the request frame): a later value replaces an earlier one."""

    service_id: str | None = None
    provider_id: str | None = None
    first_day: date | None = None
    last_day: date | None = None
    part_of_day: str | None = None
    after: str | None = None  # "HH:MM"
    before: str | None = None
    # The time asked for ("HH:MM"): offers are the free times nearest to it; held at once when the
    # patient named that exact time and it is free.
    target: str | None = None
    exact: bool = False
    # Moves of the search: after / before an instant ("later", "earlier"), and times already shown.
    not_before: datetime | None = None
    not_after: datetime | None = None
    seen: list[datetime] = Field(default_factory=list)
    far_date_confirmed: bool = False
    earliest: bool = False  # "your first Wednesday morning slot": hold the first free time


class SafetyCheck(BaseModel):
    """A warning sign the patient was asked about ("Is this happening right now?"): the message it
    was in, and what the conversation was waiting for before, which a "no" goes on with."""

    category: str
    text: str
    awaiting: str | None = None
    choices: list[Choice] = Field(default_factory=list)


class ConversationState(BaseModel):
    turn: int = 0
    # What the conversation is doing: book | reschedule | cancel | lookup | waitlist.
    task: str | None = None
    # What the last reply asked for, so a bare answer ("Jane", "2", "yes") can be read.
    awaiting: str | None = None
    search: Search = Field(default_factory=Search)
    offered: list[OfferedSlot] = Field(default_factory=list)
    hold: HoldInfo | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    # Web: set once the patient proved who they are (booked here, or reference + contact on file).
    verified_customer_id: str | None = None
    # The booking being looked at, rescheduled or cancelled, and when it is (for "same day, later").
    reference: str | None = None
    moving_from: datetime | None = None
    moving_to: datetime | None = None  # the time a move waits for the patient's yes to
    # When a reschedule asked for a time before the booking was found ("to the same time next week").
    asked_when: str | None = None
    # The words that described the booking meant ("my cleaning on Thursday"), until it is found.
    which: str | None = None
    pending_cancel: PendingCancel | None = None
    # A booking or move summary shown to the patient, waiting for their yes.
    pending_confirmation: PendingConfirmation | None = None
    # Whether the patient agreed to texts: told when asked for their number, or in the summary.
    sms_consent: bool | None = None
    failed_lookups: int = 0
    # The quick replies last offered: a patient may answer with a label or its number.
    choices: list[Choice] = Field(default_factory=list)
    handed_to_human: bool = False
    # Messages in a row the engine could not place: after two, it offers a person.
    misses: int = 0
    safety_check: SafetyCheck | None = None
    # The requests of an earlier message still to do, in order ("cancel my filling and book a
    # check-up": the booking waits for the cancel's yes), as the words that asked for them.
    queued: list[str] = Field(default_factory=list)
    # The booking last looked at, moved or cancelled: what "the week after" or "same time" in a new
    # request is relative to, and its service ("cancel it and rebook").
    anchor: datetime | None = None
    anchor_service: str | None = None
    asked: Asked | None = None
    # "Did you mean ...?": the words asked about, and the readings offered as choices.
    clarifying: str | None = None
    lapsed: LapsedHold | None = None
    # A call carried on in writing by a texted link, working until then: the call's end leaves the
    # held time to the link (the two end together).
    handed_off_until: datetime | None = None
    # The last hint given to a message not understood, so the next one is put differently.
    last_hint: str | None = None

    @property
    def has_contact(self) -> bool:
        return bool(self.name and (self.phone or self.email))

    def forget_search(self) -> None:
        self.search = Search()
        self.offered = []
