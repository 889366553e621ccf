"""What steers the conversation rather than fills it, each with one meaning in every state: ending
politely (any held time let go, and said), "start over", "help", "menu", greetings, thanks and
goodbyes, and messages that cannot be read. A hint is never given twice in a row, and the second
message in a row that goes nowhere offers a person."""

from __future__ import annotations

from agent.dialogue import existing
from agent.dialogue.turn import MENU, TALK_TO_A_PERSON, Turn
from agent.replies import Reply, when_label
from agent.state import ConversationState, Search
from agent.understanding import Act
from policy.replies import appointment_changes

# What is on the table, as "help" says it.
_WAITING_FOR = {
    "time": "pick one of the times I offered (or ask for another day or time)",
    "name": "tell me the name to put the booking under",
    "contact": "send a phone number or e-mail for the confirmation",
    "confirm_booking": "say yes to book the time I'm holding, or tell me what to change",
    "confirm_move": "say yes to move your appointment, or pick another time",
    "cancel_confirm": "say yes to cancel your appointment, or no to keep it",
    "service": "tell me which service you'd like",
    "reference": "send your booking reference",
    "lookup_contact": "send the phone number or e-mail on your booking",
    "which_booking": "tell me which appointment you mean",
    "far_date": "say yes if that date is right",
    "clarify": "tell me which you meant",
}


async def let_go(turn: Turn) -> str:
    """Release a held time, and say so (empty when nothing was held)."""
    state = turn.state
    hold = state.hold
    if hold is None or hold.expires_at <= turn.now:
        state.hold = None
        return ""
    outcome = await turn.tools.call("release_hold", {"hold_id": hold.id})
    state.hold = None
    if not outcome.ok:
        return ""
    return f"I've let {when_label(hold.starts_at, turn.practice.timezone)} go. "


def forget_task(state: ConversationState) -> None:
    state.task = state.awaiting = None
    state.search = Search()
    state.offered = []
    state.pending_confirmation = state.pending_cancel = None
    state.moving_from = state.moving_to = None
    state.queued = []
    state.asked = None
    state.clarifying = None
    state.lapsed = None


async def decline(turn: Turn, act: Act) -> list[Reply]:
    """Not now, never mind, not this: what is on the table is dropped and nothing is booked. At a
    cancel question it keeps the booking; at a move, it leaves it where it is."""
    state = turn.state
    if state.awaiting == "cancel_confirm":
        state.queued = []
        return await existing.cancel_after_yes(turn, False)
    if state.awaiting == "confirm_move":
        forget_task(state)
        return [turn.say("Okay, I've left your appointment as it is. Anything else I can help with?", MENU)]
    let_went = await let_go(turn)
    forget_task(state)
    return [
        turn.say(
            f"No problem. {let_went}Whenever you're ready, just message us and we'll find you a time "
            "another time. Take care!"
        )
    ]


async def restart(turn: Turn) -> list[Reply]:
    let_went = await let_go(turn)
    forget_task(turn.state)
    return [turn.say(f"{let_went}Let's start again. What would you like to do?", MENU)]


def help_with(turn: Turn) -> list[Reply]:
    state = turn.state
    text = (
        "I can book, move or cancel an appointment, tell you our opening hours and answer questions "
        f"about {turn.practice.name}."
    )
    waiting = _WAITING_FOR.get(state.awaiting or "")
    if waiting is not None:
        text += f" Right now I need you to {waiting}."
        chips = tuple(turn.ask_again().quick_replies) if state.asked else ()  # type: ignore[union-attr]
        return [turn.say(text, (*chips, TALK_TO_A_PERSON), remember=False)]
    return [turn.say(f"{text} What would you like to do?", MENU)]


def menu(turn: Turn) -> list[Reply]:
    return [turn.say("Here's what I can do. Tap one, or just tell me in your own words.", MENU)]


def greet(turn: Turn) -> list[Reply]:
    hello = (
        f"Hi! I'm the virtual receptionist for {turn.practice.name}. I can book, reschedule or "
        "cancel an appointment, or tell you our opening hours. What can I do for you?"
    )
    again = turn.ask_again()
    if again is not None:
        return [Reply(text="Hi!"), again]
    return [turn.say(hello, MENU)]


def thanks(turn: Turn) -> list[Reply]:
    again = turn.ask_again()
    if again is not None:
        return [Reply(text="You're welcome!"), again]
    return [turn.say("You're welcome! Is there anything else I can help with?", MENU)]


async def bye(turn: Turn) -> list[Reply]:
    let_went = await let_go(turn)
    forget_task(turn.state)
    return [turn.say(f"{let_went}Thanks for getting in touch. Take care, bye!")]


def unreadable(turn: Turn, why: str | None) -> list[Reply]:
    """A message that could not be read at all: another language, emoji only, no spaces."""
    if why == "foreign":
        text = (
            "Sorry, I can only help in English for now. I can book, move or cancel an appointment, "
            "or a member of our team can help you."
        )
        turn.state.misses += 1
        turn.understood = False
        return [turn.say(text, (TALK_TO_A_PERSON, *MENU[:-1]))]
    if why == "emoji":
        return misunderstood(turn, "I can only read words, sorry!")
    if why == "unspaced":
        return misunderstood(
            turn, "Sorry, I couldn't read that: could you send it with spaces between the words?"
        )
    return misunderstood(turn)


def misunderstood(turn: Turn, opening: str = "") -> list[Reply]:
    """A message that went nowhere: a hint, never the same as the last one; the second in a row
    offers a person."""
    state = turn.state
    state.misses += 1
    turn.understood = False
    again = turn.ask_again()
    if state.misses >= 2:
        hint = "I'm still not sure what you need. You can tap one of these, or I can ask a person to help."
    else:
        changes = appointment_changes(turn.practice.switches)
        hint = (
            f"Sorry, I didn't quite get that. I can {changes} an appointment, or tell you our opening hours."
        )
    if opening:
        hint = f"{opening} {hint.removeprefix('Sorry, ')}"
    if hint == state.last_hint:
        hint = f"Let me put it another way: {hint[0].lower()}{hint[1:]}"
    state.last_hint = hint
    if again is not None and state.misses < 2:
        return [Reply(text=hint), again]
    chips = (*(again.quick_replies if again else MENU[:-1]), TALK_TO_A_PERSON)
    return [turn.say(hint, tuple(dict.fromkeys(chips)), remember=False)]
