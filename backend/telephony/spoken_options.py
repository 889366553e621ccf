"""A call's options as the caller hears them: read out with their numbers, and then the only ones a
key or a number can choose (the conversation's choices and offered times are cut to them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent.dialogue import menu_for
from agent.state import Choice, ConversationState
from backend.conversations import service as conversations
from backend.conversations.turns import Answered
from backend.tenants import service as tenants
from channels import voice


@dataclass(frozen=True)
class SpokenTurn:
    """A turn as the caller hears it, the conversation's state after it, and the quick replies read out."""

    spoken: voice.Spoken
    state: ConversationState
    read: list[dict[str, Any]]


async def spoken(session: AsyncSession, conversation_id: uuid.UUID | None, answered: Answered) -> SpokenTurn:
    """The turn's replies as the caller hears them; the options read out become the only ones on
    offer (a key or a number can choose nothing else, and "more times" goes on from the last read)."""
    replies = answered.replies
    options: list[dict[str, Any]] = replies[-1].payload.get("quick_replies", []) if replies else []
    conversation = await conversations.by_id(session, conversation_id, lock=True)
    state = ConversationState.model_validate(conversation.state or {})
    labels = [o["label"] for o in options]
    same = [c.label for c in state.choices] == labels
    timed = [c.starts_at is not None for c in state.choices] if same else [False] * len(labels)
    first = await _nearest_first(session, conversation.tenant_id, state) if same else None
    spoken = voice.speakable([m.text for m in replies], labels, timed, first)
    if same and len(spoken.read) < len(state.choices):
        kept = [state.choices[i] for i in spoken.read]
        times = {c.starts_at for c in kept if c.starts_at is not None}
        state.choices = kept
        state.offered = [o for o in state.offered if o.starts_at in times]
        if state.asked is not None:
            state.asked.choices = kept
        conversation.state = state.model_dump(mode="json")
    return SpokenTurn(spoken, state, [options[i] for i in spoken.read])


async def _nearest_first(
    session: AsyncSession, tenant_id: uuid.UUID, state: ConversationState
) -> list[int] | None:
    """The offered times nearest the time asked first (on the day asked before other days), so a
    caller who asked for 3 p.m. hears the times around it, not the morning's; None with no time asked."""
    if state.search.target is None:
        return None
    zone = (await tenants.get_context(session, tenant_id)).timezone
    asked = time.fromisoformat(state.search.target)
    day = state.search.first_day if state.search.first_day == state.search.last_day else None

    def distance(index: int) -> tuple[bool, int, datetime]:
        starts_at = state.choices[index].starts_at
        assert starts_at is not None
        local = starts_at.astimezone(zone)
        minutes = abs(local.hour * 60 + local.minute - (asked.hour * 60 + asked.minute))
        return (day is not None and local.date() != day, minutes, starts_at)

    return sorted((i for i, c in enumerate(state.choices) if c.starts_at is not None), key=distance)


async def keypad_options(session: AsyncSession, conversation_id: uuid.UUID | None) -> str:
    """Read the options out with their digits; with none on offer, the main menu (and keep it, so
    the digit pressed next means that option)."""
    conversation = await conversations.by_id(session, conversation_id, lock=True)
    state = ConversationState.model_validate(conversation.state or {})
    if not state.choices:
        tenant = await tenants.get_context(session, conversation.tenant_id)
        state.choices = [Choice(label=q.label, value=q.value) for q in menu_for(tenant.switches)]
        conversation.state = state.model_dump(mode="json")
    return voice.options_prompt(tuple(c.label for c in state.choices)) + " Or press 0 to talk to a person."


async def state(session: AsyncSession, conversation_id: uuid.UUID | None) -> ConversationState:
    conversation = await conversations.by_id(session, conversation_id)
    return ConversationState.model_validate(conversation.state or {})


# What a keypad can spell, for the questions that ask for it, and how the caller is told.
_KEY_IT_IN = {
    "reference": "Or key it in: for each letter or number, press the key it's on, then press the hash key.",
    "lookup_contact": "Or key in the phone number, then press the hash key.",
    "contact": "Or key in a phone number, then press the hash key.",
}


def key_it_in(state: ConversationState) -> str | None:
    """How to key in the answer to the question on the table, when a keypad can spell it."""
    return _KEY_IT_IN.get(state.awaiting or "")
