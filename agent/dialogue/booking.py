"""New bookings and the waiting list: fill the frame, ask only for what is missing (service, time,
name, contact, the yes), hold the exact time asked for when it is free."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from agent.dialogue import frame, offering
from agent.dialogue.turn import TALK_TO_A_PERSON, Turn
from agent.executor import booking_card
from agent.ports import BookingInfo, HoldInfo, ServiceInfo
from agent.replies import QuickReply, Reply, when_label
from agent.understanding import Reading


async def advance(turn: Turn, reading: Reading) -> list[Reply]:
    state = turn.state
    hold = live_hold(turn)
    lead_in = ""
    if hold is not None and reading.service_id and reading.service_id != hold.service_id:
        lead_in = await _let_go(turn, hold)  # another service: the time held for this one is not wanted
        hold = None
    if not reading.services and reading.relative is not None and state.anchor_service:
        state.search.service_id = state.search.service_id or state.anchor_service  # "rebook a week later"
    anchor = hold.starts_at if hold is not None else state.anchor
    frame.merge(turn, reading, anchor=anchor)
    if reading.days is not None and reading.days.conflict:
        return [ask_which_day(turn, reading.days.conflict)]
    if hold is not None and (not reading.changes_search or _is_held(turn, hold)):
        return await ask_details_or_confirm(turn)  # nothing new, or the time already held said again
    if state.search.service_id is None:
        question = await ask_service(turn, reading.services, "Which service would you like to book?")
        if question:
            return _led(lead_in, question)
    return _led(lead_in, await offer_and_take(turn))


def _led(lead_in: str, replies: list[Reply]) -> list[Reply]:
    if not lead_in or not replies:
        return replies
    first = replies[0]
    return [Reply(lead_in + first.text, first.quick_replies, first.card), *replies[1:]]


async def _let_go(turn: Turn, hold: HoldInfo) -> str:
    outcome = await turn.tools.call("release_hold", {"hold_id": hold.id})
    turn.state.hold = None
    return f"I've let {when_label(hold.starts_at, turn.practice.timezone)} go. " if outcome.ok else ""


def _is_held(turn: Turn, hold: HoldInfo) -> bool:
    search = turn.state.search
    local = turn.local(hold.starts_at)
    return (
        search.service_id == hold.service_id
        and search.exact
        and search.first_day == search.last_day == local.date()
        and search.target == local.strftime("%H:%M")
    )


async def offer_and_take(turn: Turn, lead_in: str = "") -> list[Reply]:
    offer = await offering.offer_times(turn, lead_in)
    if offer.take is not None:
        return await hold(turn, offer.take.starts_at, offer.take.provider_id)
    return offer.replies


def live_hold(turn: Turn) -> HoldInfo | None:
    hold = turn.state.hold
    return hold if hold is not None and hold.expires_at > turn.now else None


async def hold(turn: Turn, starts_at: datetime, provider_id: str | None) -> list[Reply]:
    state = turn.state
    current = live_hold(turn)
    outcome = await turn.tools.call(
        "hold_slot",
        {
            "service_id": state.search.service_id,
            "starts_at": starts_at.isoformat(),
            "provider_id": provider_id,
            "replace_hold_id": current.id if current is not None else None,
            "far_date_confirmed": state.search.far_date_confirmed,
        },
    )
    failed = await offering.after_taking(turn, outcome, offer_and_take)
    if failed is not None:
        return failed
    held = outcome.result
    tz = turn.practice.timezone
    replaced = f"I've let {when_label(current.starts_at, tz)} go. " if current is not None else ""
    state.lapsed = None
    return [
        turn.say(
            f"{replaced}I'm holding {when_label(held.starts_at, tz)} with {held.provider_name} "
            f"for {turn.practice.hold_minutes} minutes."
        ),
        *(await ask_details_or_confirm(turn)),
    ]


async def ask_details_or_confirm(turn: Turn) -> list[Reply]:
    """The next detail still missing, or the summary to say yes to. A question asked again (the
    answer did not give it) is put differently, and the second time a person is offered."""
    state = turn.state
    asked_before = state.awaiting
    if not state.name:
        state.awaiting = "name"
        if asked_before == "name":
            return [_again(turn, "I still need a name for the booking: just your first and last name.")]
        return [turn.say("What name should I put the booking under?")]
    if not (state.phone or state.email):
        state.awaiting = "contact"
        if turn.bad_phone:
            return [
                turn.say(
                    "That phone number doesn't look right. Please send it with the area code, or an e-mail."
                )
            ]
        if asked_before == "contact":
            return [_again(turn, "I still need a phone number (with the area code) or an e-mail address.")]
        first_name = state.name.split()[0]
        return [
            turn.say(
                f"Thanks, {first_name}. What's the best phone number or e-mail for your confirmation? "
                "We'll use it only to confirm and remind you of this appointment."
            )
        ]
    return await confirm(turn)


def _again(turn: Turn, question: str) -> Reply:
    state = turn.state
    state.misses += 1
    turn.understood = False
    if state.misses >= 2:
        return turn.say(f"{question} Or I can ask a person to help.", (TALK_TO_A_PERSON,))
    return turn.say(question)


async def confirm(turn: Turn) -> list[Reply]:
    """Book the held time. The policy wants the patient's yes to a summary first: the first call
    shows it (and asks), the yes in the next message books it; a changed detail shows a new one."""
    state = turn.state
    hold = state.hold
    if hold is None or hold.expires_at <= turn.now:
        state.hold = None
        return await hold_again(turn)
    outcome = await turn.tools.call(
        "confirm_booking",
        {
            "hold_id": hold.id,
            "name": state.name,
            "phone": state.phone,
            "email": state.email,
            "texts": state.sms_consent is not False,
        },
    )
    if outcome.denied_by == "booking.explicit_confirmation" and outcome.summary is not None:
        asked_before = state.awaiting == "confirm_booking"
        state.awaiting = "confirm_booking"
        chips = (
            QuickReply("Yes, book it", "yes"),
            *(
                (QuickReply("Book it, but no texts", "no texts"),)
                if state.phone and state.sms_consent is not False
                else ()
            ),
            QuickReply("No, change something", "no"),
        )
        summary = outcome.summary.text
        if asked_before:
            return [turn.say(f"Shall I book {summary}? Please answer yes or no.", chips)]
        return [turn.say(f"Please confirm: {summary}. Shall I book it?", chips)]
    if outcome.failure_code in {"HOLD_EXPIRED", "SLOT_TAKEN", "CONFLICT", "NOT_FOUND"}:
        return await offer_and_take(turn, "Sorry, the time I was holding ran out. ")
    if not outcome.ok:
        return [turn.trouble(outcome)]
    booking: BookingInfo = outcome.result
    state.task = state.awaiting = None
    state.forget_search()
    where = " and ".join(x for x in (state.phone, state.email) if x)
    return [
        turn.say(
            f"You're booked! {booking.service_name} on"
            f" {when_label(booking.starts_at, turn.practice.timezone)} "
            f"with {booking.provider_name}. Your reference is {booking.reference}; "
            f"we'll send the details to {where}.",
            card=booking_card(booking, turn.practice.timezone),
        )
    ]


async def hold_again(turn: Turn) -> list[Reply]:
    """A yes after the hold ran out: the time is checked again, and held again when it is free."""
    state, lapsed = turn.state, turn.state.lapsed
    if lapsed is None:
        return await offer_and_take(turn, "The time I was holding has been released. ")
    state.lapsed = None
    when = when_label(lapsed.starts_at, turn.practice.timezone)
    outcome = await turn.tools.call(
        "hold_slot",
        {
            "service_id": lapsed.service_id,
            "starts_at": lapsed.starts_at.isoformat(),
            "provider_id": None,
            "replace_hold_id": None,
            "far_date_confirmed": True,
        },
    )
    if not outcome.ok:
        state.search.exact = False
        return await offer_and_take(turn, f"Sorry, {when} was taken after the hold ran out. ")
    replies = await ask_details_or_confirm(turn)
    return [turn.say(f"{when} is still free, so I'm holding it for you again."), *replies]


async def ask_service(turn: Turn, candidates: tuple[str, ...], question: str) -> list[Reply]:
    """Which service, with chips (only the likely ones when the message was unclear between a few);
    nothing to ask, and the service chosen, when the practice has only one. The day and time already
    asked for are kept and said back, so the patient knows they were heard."""
    outcome = await turn.tools.call("list_services", {})
    services: list[ServiceInfo] = outcome.result or []
    if len(services) == 1:
        turn.state.search.service_id = services[0].id
        return []
    asked_before = turn.state.awaiting == "service"
    turn.state.awaiting = "service"
    shown = [s for s in services if s.id in candidates] if len(candidates) > 1 else services
    if len(candidates) > 1:
        question = "Which of these would you like?"
    elif asked_before:
        turn.state.misses += 1
        turn.understood = False
        names = ", ".join(s.name for s in services[:6])
        question = f"Sorry, I didn't catch the service. We offer {names}: which one would you like?"
        shown = services
        if turn.state.misses >= 2:
            chips = (*(QuickReply(s.name, f"service:{s.id}") for s in shown[:7]), TALK_TO_A_PERSON)
            return [turn.say(f"{question} Or I can ask a person to help.", chips)]
    heard = _heard(turn)
    return [turn.say(f"{heard}{question}", tuple(QuickReply(s.name, f"service:{s.id}") for s in shown[:8]))]


def _heard(turn: Turn) -> str:
    search = turn.state.search
    if search.first_day is None or search.first_day != search.last_day:
        return ""
    when = turn.day_name(search.first_day)
    if search.target:
        hour, minute = map(int, search.target.split(":"))
        when += f" at {hour % 12 or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"
    return f"Sure, {when}. "


def ask_which_day(turn: Turn, days: tuple[date, ...]) -> Reply:
    turn.state.search.first_day = turn.state.search.last_day = None
    named = " or ".join(turn.day_name(d) for d in days)
    return turn.say(
        f"Just to check, which day do you mean: {named}?",
        tuple(QuickReply(turn.day_name(d), d.isoformat()) for d in days),
    )


async def advance_waitlist(turn: Turn, reading: Reading) -> list[Reply]:
    state = turn.state
    frame.merge(turn, reading)
    search = state.search
    if search.service_id is None:
        question = await ask_service(turn, reading.services, "Which service would you like to wait for?")
        if question:
            return question
    if not state.name:
        state.awaiting = "name"
        return [turn.say("What name should I put on the waiting list?")]
    if not (state.phone or state.email):
        state.awaiting = "contact"
        return [turn.say("What phone number or e-mail should we use when a time opens up?")]
    first = max(search.first_day or turn.today, turn.today)
    last = min(
        search.last_day or first + timedelta(days=frame.MAX_SEARCH_DAYS - 1),
        first + timedelta(days=frame.MAX_SEARCH_DAYS - 1),
    )
    outcome = await turn.tools.call(
        "join_waitlist",
        {
            "service_id": search.service_id,
            "date_from": first.isoformat(),
            "date_to": last.isoformat(),
            "part_of_day": search.part_of_day,
            "name": state.name,
            "phone": state.phone,
            "email": state.email,
        },
    )
    if not outcome.ok:
        return [turn.trouble(outcome)]
    state.task = state.awaiting = None
    entry = outcome.result
    return [
        turn.say(
            f"You're on the waiting list for {entry.service_name} between {entry.first_day:%b} "
            f"{entry.first_day.day} and {entry.last_day:%b} {entry.last_day.day}. "
            "We'll contact you as soon as a time opens up."
        )
    ]
