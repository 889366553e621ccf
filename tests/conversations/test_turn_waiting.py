"""Waiting for a conversation's turn: one turn at a time, a short queue, refusals at once, and a
wake-up from another process when it gives the turn back (real PostgreSQL, real NOTIFY). Two turn
runners with gates of their own stand for two API processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from agent.loop import Agent, Inbound
from agent.replies import Reply
from agent.state import ConversationState
from backend.conversations import service as conversations
from backend.conversations.turn_gate import TurnGate
from backend.conversations.turns import Answered, Turns
from backend.core.context import Caller
from backend.core.errors import RateLimited
from backend.core.listener import PgListener
from tests.support.db import caller_for, rows

# A bound for a test that would otherwise hang, not a measurement.
PATIENCE = 20


class HeldReply:
    """A responder that answers only when released: its turn stays in flight until then."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, state: ConversationState) -> list[Reply]:
        self.started.set()
        await self.release.wait()
        return [Reply(text="answered")]


def runner(db, *, per_minute: int = 20, pending: int = 3) -> Turns:
    return Turns(db, Agent(), 60, 2000, per_minute, gate=TurnGate(pending))


async def new_conversation(db, tenant) -> tuple[Caller, uuid.UUID]:
    caller = await caller_for(db, tenant.id)
    conversation_id = await db.transaction(lambda session: conversations.start(session, caller.tenant, "web"))
    return caller, conversation_id[0].id


def send(
    turns: Turns, caller: Caller, conversation: uuid.UUID, text: str, **options
) -> asyncio.Task[Answered]:
    return asyncio.create_task(
        turns.answer(
            caller,
            conversation,
            Inbound(text=text),
            channel="web",
            now=datetime.now(UTC),
            **options,
        )
    )


async def patient_messages(db, conversation: uuid.UUID) -> list[str]:
    found = await rows(
        db,
        "SELECT body FROM conversation_messages WHERE conversation_id = :c AND role = 'patient' ORDER BY seq",
        c=conversation,
    )
    return [row["body"] for row in found]


@pytest.fixture
async def listening(settings) -> AsyncIterator[PgListener]:
    listener = PgListener(settings.async_database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    yield listener
    await listener.close()


async def test_beyond_the_queue_a_message_is_refused_at_once_and_not_stored(db, tenant):
    turns = runner(db, pending=2)
    caller, conversation = await new_conversation(db, tenant)
    held = HeldReply()
    first = send(turns, caller, conversation, "first", responder=held)
    await asyncio.wait_for(held.started.wait(), PATIENCE)
    second = send(turns, caller, conversation, "second")
    await asyncio.sleep(0)  # queued behind the first
    with pytest.raises(RateLimited) as refused:
        await asyncio.wait_for(send(turns, caller, conversation, "third"), PATIENCE)
    assert refused.value.retry_after == 1 and not first.done()
    held.release.set()
    assert [m.text for m in (await first).messages] == ["first", "answered"]
    assert (await second).messages[0].text == "second"
    assert await patient_messages(db, conversation) == ["first", "second"]


async def test_a_message_over_the_rate_is_refused_before_it_waits_for_the_turn(db, tenant):
    turns = runner(db, per_minute=3)
    caller, conversation = await new_conversation(db, tenant)
    for text in ("one", "two"):
        await send(turns, caller, conversation, text)
    held = HeldReply()
    third = send(turns, caller, conversation, "three", responder=held)
    await asyncio.wait_for(held.started.wait(), PATIENCE)
    # The turn is still busy with "three": the fourth is told to wait now, not after it.
    with pytest.raises(RateLimited, match="at most 3 messages a minute") as refused:
        await asyncio.wait_for(send(turns, caller, conversation, "four"), PATIENCE)
    assert not third.done() and 1 <= refused.value.retry_after <= 60
    held.release.set()
    await third
    assert await patient_messages(db, conversation) == ["one", "two", "three"]


async def test_another_process_giving_the_turn_back_wakes_the_waiting_message(db, tenant, listening):
    here, there = runner(db), runner(db)
    there.gate.hear(listening)
    await listening.start()
    for _ in range(200):
        if there.gate.listening:
            break
        await asyncio.sleep(0.05)
    assert there.gate.listening
    caller, conversation = await new_conversation(db, tenant)
    held = HeldReply()
    first = send(here, caller, conversation, "first", responder=held)
    await asyncio.wait_for(held.started.wait(), PATIENCE)
    # The other process finds the 60-second lease taken; only the NOTIFY on its release can wake
    # it before the test's patience runs out.
    second = send(there, caller, conversation, "second")
    await asyncio.sleep(0.2)
    assert not second.done()
    held.release.set()
    await first
    answered = await asyncio.wait_for(second, PATIENCE)
    assert answered.messages[0].text == "second" and answered.replies
    assert await patient_messages(db, conversation) == ["first", "second"]


async def test_a_resend_while_another_process_answers_is_answered_once(db, tenant, listening):
    here, there = runner(db), runner(db)
    there.gate.hear(listening)
    await listening.start()
    caller, conversation = await new_conversation(db, tenant)
    held = HeldReply()
    first = send(here, caller, conversation, "book me in", client_message_id="m1", responder=held)
    await asyncio.wait_for(held.started.wait(), PATIENCE)
    again = send(there, caller, conversation, "book me in", client_message_id="m1")
    held.release.set()
    answered, replayed = await asyncio.wait_for(asyncio.gather(first, again), PATIENCE)
    assert [m.seq for m in replayed.messages] == [m.seq for m in answered.messages]
    assert await patient_messages(db, conversation) == ["book me in"]


async def test_a_lease_left_by_a_dead_process_runs_out(db, tenant):
    turns = runner(db)
    caller, conversation = await new_conversation(db, tenant)
    until = datetime.now(UTC) + timedelta(seconds=2)
    await rows(
        db,
        "UPDATE conversations SET turn_lease_until = :u WHERE id = :c RETURNING id",
        u=until,
        c=conversation,
    )
    answered = await asyncio.wait_for(send(turns, caller, conversation, "anyone there?"), PATIENCE)
    assert answered.messages[0].text == "anyone there?" and answered.replies
