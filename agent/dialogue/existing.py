"""Existing bookings: find the one meant (and prove it is the patient's), then look it up, move it
(to a time said outright or relative to it: "same day in the afternoon", "an hour later") or cancel
it after a yes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from agent.dialogue import booking, frame, offering
from agent.dialogue.turn import MENU, TALK_TO_A_PERSON, Turn
from agent.executor import booking_card
from agent.ports import BookingInfo
from agent.replies import QuickReply, Reply, when_label
from agent.understanding import Reading, read

MAX_LOOKUP_ATTEMPTS = 3
MAX_BOOKING_CHIPS = 6


async def advance(turn: Turn, reading: Reading, hint: Reading | None = None) -> list[Reply]:
    """Carry on with the booking in question; `hint` are the words that described it ("my cleaning
    on Thursday"), kept until it is found."""
    state = turn.state
    if hint is not None and hint.text.strip():
        state.which = hint.text
    if reading.reference:
        state.reference = reading.reference
        if reading.email or reading.phone:
            state.awaiting = "lookup_contact"
    found = await target_booking(turn, reading)
    if isinstance(found, list):
        if reading.says_when:
            state.asked_when = reading.text  # "move X to the same time next week": for once it is found
        return found  # a question for the patient
    if state.asked_when is not None:
        # What the patient asked for before we knew which booking: read again, against it.
        asked = read(state.asked_when, turn.context())
        state.asked_when = None
        reading = replace(
            reading,
            relative=reading.relative or asked.relative,
            days=reading.days or asked.days,
            time=reading.time or asked.time,
        )
    tz = turn.practice.timezone
    _in_play(turn, found)
    if state.task == "lookup":
        state.task = None
        return [
            turn.say(
                f"Your {found.service_name} is on {when_label(found.starts_at, tz)} with"
                f" {found.provider_name} "
                f"(reference {found.reference}).",
                (QuickReply("Reschedule", "intent:reschedule"), QuickReply("Cancel", "intent:cancel")),
                card=booking_card(found, tz),
            )
        ]
    if state.task == "cancel":
        outcome = await turn.tools.call("cancel_booking", {"reference": found.reference})
        if outcome.denied_by == "cancel.explicit_confirmation":
            state.awaiting = "cancel_confirm"
            return [
                turn.say(
                    f"Cancel your {found.service_name} on {when_label(found.starts_at, tz)} with "
                    f"{found.provider_name}? Reply yes to cancel it.",
                    (QuickReply("Yes, cancel it", "yes"), QuickReply("No, keep it", "no")),
                )
            ]
        return [turn.trouble(outcome)]
    # reschedule
    state.search.service_id = found.service_id
    state.moving_from = found.starts_at
    frame.merge(turn, reading, anchor=found.starts_at)
    search = state.search
    booked_at = turn.local(found.starts_at)
    said_time = search.target or search.part_of_day or search.after or search.before
    if search.first_day is not None and not said_time:
        # "shove it to Friday": the same time that day, if it is free.
        search.target, search.exact = booked_at.strftime("%H:%M"), True
    elif search.first_day is None and said_time and reading.relative is None:
        # "can we switch it to 3pm?": the same day, at that time.
        search.first_day = search.last_day = booked_at.date()
    said_when = search.first_day or search.part_of_day or search.target or search.after or search.before
    if state.awaiting != "time" and not said_when:
        # Nothing said about when: the first free times are the likeliest answer, and one step less.
        return await offer_and_move(
            turn, f"Your {found.service_name} is on {when_label(found.starts_at, tz)}. "
        )
    if reading.days is not None and reading.days.conflict:
        return [booking.ask_which_day(turn, reading.days.conflict)]
    return await offer_and_move(turn)


async def offer_and_move(turn: Turn, lead_in: str = "") -> list[Reply]:
    offer = await offering.offer_times(turn, lead_in)
    if offer.take is not None:
        return await move(turn, offer.take.starts_at)
    return offer.replies


def _in_play(turn: Turn, found: BookingInfo) -> None:
    """The booking found is now the one in play: what "the week after" or "same time" is relative
    to, and who the patient is (a new booking in the same conversation needs no name again)."""
    state = turn.state
    state.which = None
    state.anchor, state.anchor_service = found.starts_at, found.service_id
    state.name = state.name or found.customer_name
    if state.phone is None and state.email is None and turn.tools.facts.channel_phone is not None:
        state.phone = turn.tools.facts.channel_phone


def _matching(turn: Turn, bookings: list[BookingInfo]) -> list[BookingInfo]:
    """The bookings the patient's words describe ("my cleaning", "Thursday's"), if they narrow it."""
    if not turn.state.which:
        return bookings
    hint = read(turn.state.which, turn.context())
    kept = bookings
    if hint.services:
        kept = [b for b in kept if b.service_id in hint.services]
    if hint.days is not None:
        kept = [b for b in kept if hint.days.first <= turn.local(b.starts_at).date() <= hint.days.last]
    return kept or bookings


def _verified(turn: Turn) -> bool:
    return turn.state.verified_customer_id is not None or turn.tools.facts.channel_phone is not None


async def target_booking(turn: Turn, reading: Reading) -> BookingInfo | list[Reply]:
    """The booking in question, or the question to ask to find it and prove it is theirs."""
    state = turn.state
    if state.awaiting == "lookup_contact" and state.reference:
        contact = reading.email or reading.phone
        if contact is None:
            return [turn.say("Please send the phone number or e-mail you booked with.")]
        outcome = await turn.tools.call("lookup_booking", {"reference": state.reference, "contact": contact})
        if outcome.ok and outcome.result:
            state.awaiting = None
            normalized = turn.tools.desk.normalize_contact(contact)
            if normalized is not None and not (state.phone or state.email):
                state.phone, state.email = (
                    (normalized, None) if normalized.startswith("+") else (None, normalized)
                )
            return outcome.result[0]
        state.reference = None
        if state.failed_lookups >= MAX_LOOKUP_ATTEMPTS:
            return await hand_to_human(turn, "could not verify a booking")
        state.awaiting = "reference"
        return [
            turn.say(
                "I couldn't find a booking with that reference and contact. "
                "Please check the 6-character reference in your confirmation and send it again.",
                (TALK_TO_A_PERSON,),
            )
        ]
    if state.reference:
        if _verified(turn):
            outcome = await turn.tools.call("lookup_booking", {"reference": state.reference})
            if outcome.ok and outcome.result:
                return outcome.result[0]
        state.awaiting = "lookup_contact"
        return [turn.say(f"Thanks. What's the phone number or e-mail on booking {state.reference}?")]
    if _verified(turn):
        outcome = await turn.tools.call("lookup_booking", {})
        bookings: list[BookingInfo] = _matching(turn, outcome.result if outcome.ok else [])
        if len(bookings) == 1:
            state.reference = bookings[0].reference
            return bookings[0]
        if bookings:
            state.awaiting = "which_booking"
            tz = turn.practice.timezone
            shown = bookings[:MAX_BOOKING_CHIPS]
            return [
                turn.say(
                    "Which appointment do you mean?",
                    tuple(
                        QuickReply(f"{b.service_name}, {when_label(b.starts_at, tz)}", f"ref:{b.reference}")
                        for b in shown
                    ),
                    times=tuple(b.starts_at for b in shown),
                )
            ]
        if turn.tools.facts.channel_phone is not None:
            state.task = None
            return [turn.say("I can't find any upcoming appointments for this number.", MENU)]
    state.awaiting = "reference"
    return [
        turn.say(
            "Sure. What's your booking reference? It's the 6-character code in your confirmation (like"
            " K7M2QX)."
        )
    ]


async def move(turn: Turn, starts_at: datetime) -> list[Reply]:
    """Move the booking to `starts_at`. The policy wants the patient's yes to the old and the new
    time first: the first call shows them and asks, the yes in the next message moves it."""
    state = turn.state
    assert state.reference is not None
    state.moving_to = starts_at
    outcome = await turn.tools.call(
        "reschedule_booking",
        {
            "reference": state.reference,
            "starts_at": starts_at.isoformat(),
            "far_date_confirmed": state.search.far_date_confirmed,
        },
    )
    if outcome.denied_by == "reschedule.explicit_confirmation" and outcome.summary is not None:
        asked_before = state.awaiting == "confirm_move"
        state.awaiting = "confirm_move"
        chips = (QuickReply("Yes, move it", "yes"), QuickReply("No, pick another time", "no"))
        prompt = "Please answer yes or no: shall I move" if asked_before else "Shall I move"
        return [turn.say(f"{prompt} {outcome.summary.text}?", chips)]
    failed = await offering.after_taking(turn, outcome, offer_and_move)
    if failed is not None:
        return failed
    moved: BookingInfo = outcome.result
    state.task = state.awaiting = None
    state.moving_from = state.moving_to = None
    state.forget_search()
    return [
        turn.say(
            f"Done! Your {moved.service_name} is now on"
            f" {when_label(moved.starts_at, turn.practice.timezone)} "
            f"with {moved.provider_name} (reference {moved.reference}).",
            card=booking_card(moved, turn.practice.timezone),
        )
    ]


async def cancel_after_yes(turn: Turn, yes: bool) -> list[Reply]:
    state = turn.state
    pending = state.pending_cancel
    if not yes or pending is None:
        state.pending_cancel = None
        state.task = None
        return [turn.say("Okay, I've kept your appointment as it is.", MENU)]
    outcome = await turn.tools.call("cancel_booking", {"reference": pending.reference})
    if outcome.denied_by == "cancel.explicit_confirmation":
        state.awaiting = "cancel_confirm"
        return [
            turn.say(
                "To be safe I need a clear yes: shall I cancel it?",
                (QuickReply("Yes, cancel it", "yes"), QuickReply("No, keep it", "no")),
            )
        ]
    if not outcome.ok:
        return [turn.trouble(outcome)]
    state.task = None
    cancelled: BookingInfo = outcome.result
    tz = turn.practice.timezone
    when = when_label(cancelled.starts_at, tz)
    done = f"Your {cancelled.service_name} on {when} is cancelled (reference {cancelled.reference})."
    if state.queued:  # what the patient asked for next follows at once: no need to ask
        return [turn.say(done, card=booking_card(cancelled, tz))]
    return [
        turn.say(
            f"{done} Would you like to book another time?",
            (QuickReply("Book another time", "intent:book"),),
            card=booking_card(cancelled, tz),
        )
    ]


async def hand_to_human(turn: Turn, reason: str) -> list[Reply]:
    outcome = await turn.tools.call("request_human", {"reason": reason[:500]})
    turn.state.task = turn.state.awaiting = None
    practice = turn.practice
    call = f" You can also call us at {practice.staff_phone}." if practice.staff_phone else ""
    if not outcome.ok:
        return [turn.say(f"I couldn't reach the team just now.{call}")]
    return [turn.say(f"I've asked a member of the {practice.name} team to follow up with you here.{call}")]
