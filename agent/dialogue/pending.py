"""Answers to what the receptionist asked: a time among those on offer (in words, narrowed to a few,
or not placed at all: said once more, differently, then with a person on offer), and a yes or no
to a summary, a move, a cancel or a far date."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from agent.dialogue import booking, existing, offering
from agent.dialogue.turn import MORE_TIMES, TALK_TO_A_PERSON, Turn
from agent.replies import QuickReply, Reply, when_label
from agent.state import Search
from agent.understanding import Reading

# Takes an offered time: holds it for a booking, proposes it for a move.
Take = Callable[[datetime, str | None], Awaitable[list[Reply]]]


async def answer_offer(turn: Turn, reading: Reading, take: Take) -> list[Reply] | None:
    """An answer to times on offer that picks none outright: several narrowed down, a bare yes or
    no, or nothing we could place (said once more, differently, then with a person on offer)."""
    state = turn.state
    offered = state.offered
    if len(reading.options) > 1 and offered and not (reading.services or reading.provider_id):
        pointed = {state.choices[i].starts_at for i in reading.options if i < len(state.choices)}
        narrowed = [o for o in offered if o.starts_at in pointed]
        asked = state.search.first_day if state.search.first_day == state.search.last_day else None
        on_asked_day = [o for o in narrowed if turn.local(o.starts_at).date() == asked]
        if reading.days is None and len(on_asked_day) == 1:
            # "2pm" after times around 2 PM on the day asked for (and nearby days): that day's.
            return await take(on_asked_day[0].starts_at, on_asked_day[0].provider_id)
        return [offering.present(turn, narrowed, "Which of these would you like?")]
    if reading.changes_search or not offered:
        return None
    timed = [c for c in state.choices if c.starts_at is not None]
    if reading.yes and len(timed) == 1:
        return await take(offered[0].starts_at, offered[0].provider_id)
    if reading.yes or reading.no:
        prompt = "Which time would you like?" if reading.yes else "No problem. Would you like other times?"
        return [offering.present(turn, offered, prompt)]
    if reading.understood:
        return None
    state.misses += 1
    turn.understood = False
    hint = (
        "Sorry, I didn't catch which time you'd like. Tap one, or say something like \"the second one\", "
        '"10:30", "Thursday afternoon" or "other days".'
    )
    reply = offering.present(turn, offered, hint)
    if state.misses >= 2:
        reply = turn.say(
            "I'm still not sure which time you mean. Pick one of these, or I can ask a person to help.",
            (*reply.quick_replies, TALK_TO_A_PERSON),
        )
    return [reply]


async def answer_yes_no(turn: Turn, yes: bool) -> list[Reply]:
    state = turn.state
    awaiting = state.awaiting
    state.awaiting = None
    if awaiting == "confirm_booking":
        if yes:
            return await booking.confirm(turn)
        state.awaiting = "time"
        tz = turn.practice.timezone
        chips = tuple(
            QuickReply(when_label(o.starts_at, tz), f"slot:{o.starts_at.isoformat()}") for o in state.offered
        )
        return [
            turn.say(
                "No problem. Pick another time, ask for another day, or tell me a new name, phone or e-mail.",
                (*chips, MORE_TIMES),
            )
        ]
    if awaiting == "confirm_move":
        if yes and state.moving_to is not None:
            return await existing.move(turn, state.moving_to)
        state.awaiting = "time"
        return [offering.present(turn, state.offered, "No problem. Which time would you like instead?")]
    if awaiting == "far_date":
        if yes:
            state.search.far_date_confirmed = True
            return await booking.offer_and_take(turn)
        state.search = Search(service_id=state.search.service_id)
        return [turn.say("Okay. Which day would suit you instead?", turn.day_chips())]
    return await existing.cancel_after_yes(turn, yes)
