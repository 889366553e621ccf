"""A message that answers a reminder (a text, or a web chat of the patient the reminder was for),
read in the patient's own words and acted on for that appointment.

The keywords ("C", "CONFIRM", "YES", "Y", "R") keep their meaning. Anything else is read by the
understanding component (`agent.understanding.reminder_replies`): a confirm or a running-late notice
is settled here, on the appointment, with its audit row and event; a cancel or a move goes to the
receptionist for that booking (a cancel asks its yes, like everywhere else); a question about the
visit's time or provider is answered from the appointment, any other one by the receptionist (the
clinic's FAQ), after the confirmation a reply that also says yes records ("yes I'll be there, is
there parking?"); an unclear reply is asked about once, with numbered options, and after that the
receptionist reads it like any other message. A message triage does not call routine always goes
to the receptionist, whose turn starts with triage.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from agent.dialogue import resolve_choice
from agent.loop import Inbound
from agent.replies import QuickReply, Reply, when_label
from agent.state import Choice, ConversationState
from agent.understanding import Context
from agent.understanding.reminder_replies import ReminderReply, read_reminder_reply
from backend.conversations.turns import Responder
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import AppError
from backend.messaging import outbox
from backend.scheduling import appointment_lists, attendance, booking
from channels import sms
from policy import triage

if TYPE_CHECKING:
    from backend.scheduling.models import Appointment

# A reminder is what a reply answers for this long after it was sent.
REMINDER_REPLY_WINDOW = timedelta(days=7)
# Answers the agent is waiting for: a "yes" then is the answer to its question, not to a reminder.
YES_NO_QUESTIONS = frozenset({"confirm_booking", "confirm_move", "cancel_confirm", "far_date"})
AWAITING = "reminder_choice"
CHOICES = (
    Choice(label="Confirm", value="reminder:confirm"),
    Choice(label="Cancel", value="reminder:cancel"),
    Choice(label="Reschedule", value="reminder:reschedule"),
    Choice(label="Running late", value="reminder:late"),
)


@dataclass(frozen=True)
class Reminded:
    appointment_id: uuid.UUID
    reference: str


@dataclass(frozen=True)
class Handling:
    """How the turn goes: the message as the receptionist gets it, or a responder instead of it,
    what is settled before the receptionist answers (`prelude`), and what the inbound row records
    as its handling."""

    inbound: Inbound
    responder: Responder | None
    name: str
    prelude: Responder | None = None


async def last_reminded(
    session: AsyncSession,
    tenant: TenantContext,
    now: datetime,
    *,
    phone: str | None = None,
    customer_id: uuid.UUID | None = None,
) -> Reminded | None:
    """The upcoming appointment most recently reminded of, within the reply window: by text to this
    number, or (any channel) to this customer."""
    since = now - REMINDER_REPLY_WINDOW
    if phone is not None:
        reminded = await outbox.reminded_appointments(session, tenant.id, phone, since)
    elif customer_id is not None:
        reminded = await outbox.reminded_appointments_of(session, tenant.id, customer_id, since)
    else:
        return None
    found = await appointment_lists.first_upcoming(session, tenant, reminded, now)
    return Reminded(found[0], found[1]) if found is not None else None


class ReminderReplies:
    def __init__(self, db: Database, via: str) -> None:
        self.db = db
        self.via = via  # the channel a confirmation or a late notice is recorded as coming from

    def handle(
        self, caller: Caller, reminded: Reminded, body: str, state: ConversationState, now: datetime
    ) -> Handling:
        about = Inbound(body, about_reference=reminded.reference)
        if state.pending_confirmation is not None or state.pending_cancel is not None:
            return Handling(about, None, "reminder_reply")  # its yes or no is the receptionist's
        keyword = sms.reminder_reply(body)
        if keyword == "confirm" and state.awaiting not in YES_NO_QUESTIONS:
            return Handling(about, self._confirmer(caller, reminded, now), "reminder_confirm")
        if keyword == "reschedule":
            return Handling(_meaning(about, "intent:reschedule"), None, "reminder_reschedule")
        asked_before = state.awaiting == AWAITING
        if asked_before:
            state.awaiting, state.choices = None, []
            chosen = resolve_choice(body, _with_choices(state))
            if chosen.startswith("reminder:"):
                return self._outcome(caller, reminded, about, chosen.removeprefix("reminder:"), None, now)
        if triage.assess(body).band != "routine":
            return Handling(about, None, "reminder_reply")  # the receptionist's turn starts with triage
        local_today = now.astimezone(caller.tenant.timezone).date()
        reply = read_reminder_reply(body, Context(today=local_today, profile=caller.tenant.profile))
        if reply.outcome == "confirm" and state.awaiting in YES_NO_QUESTIONS:
            return Handling(about, None, "reminder_reply")
        if reply.outcome == "unclear" and asked_before:
            return Handling(about, None, "reminder_reply")  # asked once: now the receptionist reads it
        return self._outcome(caller, reminded, about, reply.outcome, reply, now)

    def _outcome(
        self,
        caller: Caller,
        reminded: Reminded,
        about: Inbound,
        outcome: str,
        reply: ReminderReply | None,
        now: datetime,
    ) -> Handling:
        if outcome == "confirm":
            return Handling(about, self._confirmer(caller, reminded, now), "reminder_confirm")
        if outcome == "late":
            minutes = reply.minutes_late if reply is not None else None
            return Handling(about, self._late(caller, reminded, minutes, now), "reminder_late")
        if outcome == "cancel":
            return Handling(_meaning(about, "intent:cancel"), None, "reminder_cancel")
        if outcome == "reschedule":
            # With the new time in the words, the receptionist reads them; else it asks for one.
            moving = about if reply is not None and reply.says_when else _meaning(about, "intent:reschedule")
            return Handling(moving, None, "reminder_reschedule")
        if outcome == "question":
            assert reply is not None
            if reply.asks in {"when", "who"}:
                return Handling(
                    about, self._visit(caller, reminded, reply.confirms, now), "reminder_question"
                )
            if reply.confirms:  # the yes is recorded, then the receptionist answers the question
                confirm = self._confirmer(caller, reminded, now)
                asking = replace(about, unanswered=reply.rest)
                return Handling(asking, None, "reminder_confirm_question", prelude=confirm)
            return Handling(about, None, "reminder_question")
        return Handling(about, self._ask(caller, reminded), "reminder_unclear")

    # ---- what is settled here ----

    def _confirmer(self, caller: Caller, reminded: Reminded, now: datetime) -> Responder:
        async def confirm(state: ConversationState) -> list[Reply]:
            try:
                appointment = await self._on(
                    lambda session: attendance.confirm_attendance(
                        session, caller, reminded.appointment_id, self.via, now
                    )
                )
            except AppError as error:
                return [
                    Reply(f"Sorry, I couldn't confirm it: {error.message}. Reply R to pick another time.")
                ]
            state.reference = appointment.reference
            return [Reply(f"Thanks! Your {_visit_words(caller, appointment)} is confirmed. See you then.")]

        return confirm

    def _late(self, caller: Caller, reminded: Reminded, minutes: int | None, now: datetime) -> Responder:
        async def late(state: ConversationState) -> list[Reply]:
            try:
                appointment = await self._on(
                    lambda session: attendance.note_running_late(
                        session, caller, reminded.appointment_id, minutes, self.via, now
                    )
                )
            except AppError as error:
                return [Reply(f"Sorry, I couldn't pass that on: {error.message}.")]
            state.reference = appointment.reference
            how_late = f"about {minutes} minutes late" if minutes else "running late"
            return [
                Reply(
                    f"Thanks for letting us know. We've told the team you're {how_late} for your "
                    f"{_visit_words(caller, appointment)}. Drive safely!"
                )
            ]

        return late

    def _visit(self, caller: Caller, reminded: Reminded, confirms: bool, now: datetime) -> Responder:
        """The visit's time and provider, from the appointment (and its confirmation when the
        patient said yes too)."""

        async def visit(state: ConversationState) -> list[Reply]:
            async def read(session: AsyncSession) -> Appointment:
                if confirms:
                    try:
                        return await attendance.confirm_attendance(
                            session, caller, reminded.appointment_id, self.via, now
                        )
                    except AppError:
                        pass  # not confirmable (passed, cancelled): the answer still says what it is
                return await booking.get_appointment(session, caller.tenant, str(reminded.appointment_id))

            appointment = await self._on(read)
            state.reference = appointment.reference
            said = "It's confirmed. " if appointment.status == "confirmed" and confirms else ""
            tail = "" if appointment.status == "confirmed" else " Reply C to confirm or R to reschedule."
            return [Reply(f"{said}Your {_visit_words(caller, appointment, with_provider=True)}.{tail}")]

        return visit

    def _ask(self, caller: Caller, reminded: Reminded) -> Responder:
        async def ask(state: ConversationState) -> list[Reply]:
            appointment = await self._on(
                lambda session: booking.get_appointment(session, caller.tenant, str(reminded.appointment_id))
            )
            state.reference = appointment.reference
            state.awaiting, state.choices = AWAITING, list(CHOICES)
            return [
                Reply(
                    f"This is {caller.tenant.name} about your {_visit_words(caller, appointment)}. "
                    "What would you like to do?",
                    quick_replies=tuple(QuickReply(c.label, c.value) for c in CHOICES),
                )
            ]

        return ask

    async def _on(self, work: Callable[[AsyncSession], Awaitable[Appointment]]) -> Appointment:
        return await self.db.transaction(work)


def _meaning(inbound: Inbound, meaning: str) -> Inbound:
    return Inbound(inbound.text, about_reference=inbound.about_reference, meaning=meaning)


def _with_choices(state: ConversationState) -> ConversationState:
    return state.model_copy(update={"choices": list(CHOICES)})


def _visit_words(caller: Caller, appointment: Appointment, *, with_provider: bool = False) -> str:
    who = f" with {appointment.provider.name}" if with_provider else ""
    when = when_label(appointment.starts_at, caller.tenant.timezone_name)
    return (
        f"{appointment.service.name}{who} is on {when}"
        if with_provider
        else f"{appointment.service.name} on {when}"
    )
