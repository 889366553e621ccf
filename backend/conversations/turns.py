"""One chat turn, for every channel: store the message, let the agent answer, store the answer.

A turn is three steps: (1) store the patient's message and take the conversation's turn lease, in
one committed transaction, so the message survives a crash; (2) run the agent, whose tools run their
own transactions; (3) store the replies and the new state and give the lease back. The lease (a
timestamp, not a held connection) keeps two messages of one conversation from being answered at the
same time; a lease left by a dead process runs out by itself.

Waiting for a turn asks nothing of the database (turn_gate.py): messages of one conversation queue
on a lock in this process, at most a few of them, and wait for another process's lease to be given
back (its NOTIFY) or to run out. The conversation's message rate is checked before a message waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agent.llm import HistoryMessage
from agent.loop import Agent, Inbound
from agent.ports import PracticeInfo
from agent.replies import Reply
from agent.state import ConversationState
from backend.conversations import service as conversation_store
from backend.conversations import turn_rows
from backend.conversations.alerts import ClinicAlarm
from backend.conversations.desk import PracticeDesk
from backend.conversations.live import Live, Unwatched
from backend.conversations.models import Conversation
from backend.conversations.practice_info import practice_info
from backend.conversations.service import StoredMessage
from backend.conversations.turn_gate import Turn, TurnGate
from backend.core import metrics
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import BusyRetry, RateLimited, ValidationFailed
from channels.inbound import clean_text, too_long
from policy import triage
from policy.input_limits import MAX_CHOICE_CHARS
from policy.switches import channel_decision

log = logging.getLogger(__name__)

LEASE_WAIT_SECONDS = 30.0
RATE_WINDOW = timedelta(minutes=1)
TROUBLE_REPLY = "Sorry, something went wrong on my side. Please send that again in a moment."


@dataclass(frozen=True)
class _Incoming:
    text: str
    choice: str | None
    client_message_id: str | None
    # Held for the staff without a turn: the clinic has switched the channel off.
    for_staff: bool = False


@dataclass(frozen=True)
class _Claim:
    """The stored message, and what the agent needs to answer it."""

    message: StoredMessage
    state: ConversationState
    history: list[HistoryMessage]
    practice: PracticeInfo


@dataclass(frozen=True)
class Answered:
    """The patient's stored message, then the replies; `understood` is False when the agent could
    not make anything of it."""

    messages: list[StoredMessage]
    understood: bool = True
    # The replies are triage's (a safety message): a text may run a segment longer rather than cut.
    whole: bool = False
    # The number a caller chose to be put through to (after an emergency on a call).
    dial: str | None = None

    @property
    def replies(self) -> list[StoredMessage]:
        return self.messages[1:]


# Answers a message without the agent, given the conversation's state (which it may update).
Responder = Callable[[ConversationState], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class _Replay:
    """A message stored before (same client id): the answer it already got."""

    messages: list[StoredMessage]


@dataclass(frozen=True)
class _Held:
    """Stored for the member of staff who has taken the conversation over: no agent turn."""

    message: StoredMessage


@dataclass(frozen=True)
class _Leased:
    """Another process is answering this conversation: its lease runs out in `seconds`."""

    seconds: float


class Turns:
    """Runs turns: stores what the patient said, asks the agent, stores what it answered."""

    def __init__(
        self,
        db: Database,
        agent: Agent,
        lease_seconds: int,
        max_chars: int,
        messages_per_minute: int = 20,
        live: Live | None = None,
        gate: TurnGate | None = None,
        public_base_url: str = "",
    ) -> None:
        self.db = db
        self.agent = agent
        self.live: Live = live or Unwatched()
        self.alarm = ClinicAlarm(self.live, public_base_url)
        self.lease = timedelta(seconds=lease_seconds)
        self.max_chars = max_chars
        self.messages_per_minute = messages_per_minute
        self.gate = gate or TurnGate(max_pending=3)
        # The oldest message that still counts against the rate, if the rate is used up.
        self._limiting_message = turn_rows.LATEST_PATIENT_MESSAGES.offset(messages_per_minute - 1).limit(1)

    async def _check_rate(self, session: AsyncSession, conversation_id: uuid.UUID, clock: datetime) -> None:
        """A public widget invites scripts: cap one conversation's messages a minute, counted in storage."""
        oldest = await session.scalar(self._limiting_message, {"conversation_id": conversation_id})
        if oldest is not None and oldest > clock - RATE_WINDOW:
            raise RateLimited.retry_in(
                f"at most {self.messages_per_minute} messages a minute; please wait a moment",
                (oldest + RATE_WINDOW - clock).total_seconds(),
            )

    async def _check_rate_now(self, conversation_id: uuid.UUID) -> None:
        await self.db.transaction(
            lambda session: self._check_rate(session, conversation_id, datetime.now(UTC))
        )

    async def answer(
        self,
        caller: Caller,
        conversation_id: uuid.UUID,
        inbound: Inbound,
        *,
        channel: str,
        now: datetime,
        client_message_id: str | None = None,
        channel_phone: str | None = None,
        responder: Responder | None = None,
        disclosure: str | None = None,
        prelude: Responder | None = None,
    ) -> Answered:
        """The patient's message and the replies to it, in order; a retried message (same client id)
        is not answered twice, but one whose turn stored no reply (its process died) is answered now.
        `responder` answers instead of the agent (something the channel settles itself, like a "C" to
        a reminder), in the same stored thread; `prelude` settles something before the agent answers
        the rest of the message, its replies first (a yes to a reminder that also asks a question).
        `disclosure` goes before the first reply the
        conversation ever gets (a channel that has not said otherwise that this is an automated
        assistant)."""
        text = clean_text(inbound.text)
        if not text:
            raise ValidationFailed("text", "the message is empty")
        if len(text) > self.max_chars:
            raise ValidationFailed("text", too_long(self.max_chars))
        if inbound.choice is not None and len(inbound.choice) > MAX_CHOICE_CHARS:
            raise ValidationFailed(
                "choice", f"a quick reply's value has at most {MAX_CHOICE_CHARS} characters"
            )
        # A channel the clinic has switched off: its messages reach the staff, with no automated answer,
        # except a patient who may be in danger: the safety answer and the clinic's alert go on every
        # channel, as a person at the desk would not stay silent.
        switch = channel_decision(channel, caller.tenant.switches)
        silent = not switch.allowed and triage.assess(text).band == "routine"
        incoming = _Incoming(text, inbound.choice, client_message_id, for_staff=silent)
        async with self.gate.turn(conversation_id, lambda: self._check_rate_now(conversation_id)) as turn:
            claim = await self._claim(turn, caller.tenant, conversation_id, incoming)
            if isinstance(claim, _Replay):
                return Answered(claim.messages)
            await self._show_staff(caller.tenant, conversation_id, channel, [claim.message])
            if isinstance(claim, _Held):
                if silent:
                    await self.db.transaction(
                        lambda session: conversation_store.to_staff(session, caller, conversation_id, switch)
                    )
                return Answered([claim.message])
            desk = PracticeDesk(self.db, caller, conversation_id, now, self.alarm)
            understood, whole, dial = True, False, None
            engine = "llm" if self.agent.llm is not None else "deterministic"
            began = time.perf_counter()
            try:
                if responder is not None:
                    replies = await responder(claim.state)
                else:
                    settled = await prelude(claim.state) if prelude is not None else []
                    result = await self.agent.turn(
                        desk=desk,
                        practice=claim.practice,
                        state=claim.state,
                        history=claim.history,
                        inbound=replace(inbound, text=text),
                        channel=channel,
                        now=now,
                        channel_phone=channel_phone,
                    )
                    replies, understood = [*settled, *result.replies], result.understood
                    whole, dial = result.engine == "triage", result.dial
            except Exception:
                log.exception("chat turn failed in conversation %s", conversation_id)
                replies, understood = [Reply(text=TROUBLE_REPLY)], True
            stored = await self.db.transaction(
                lambda session: self._finish(
                    session, caller.tenant, conversation_id, replies, claim.state, desk, disclosure
                )
            )
        desk.audited()
        metrics.CHAT_TURN_LATENCY.labels(engine).observe(time.perf_counter() - began)
        metrics.CHAT_TURNS.labels(engine, channel, str(understood).lower()).inc()
        await self._show_staff(caller.tenant, conversation_id, channel, stored)
        return Answered([claim.message, *stored], understood, whole, dial)

    async def _show_staff(
        self, tenant: TenantContext, conversation_id: uuid.UUID, channel: str, messages: list[StoredMessage]
    ) -> None:
        for message in messages:
            await self.live.to_staff(
                tenant.id,
                "conversation.message",
                {"conversation_id": str(conversation_id), "channel": channel, "message": message.event()},
            )

    async def _claim(
        self, turn: Turn, tenant: TenantContext, conversation_id: uuid.UUID, incoming: _Incoming
    ) -> _Claim | _Replay | _Held:
        """The claim, once no other process holds the conversation's lease: woken when it gives the
        lease back, or when the lease runs out; never by asking again and again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LEASE_WAIT_SECONDS
        while True:
            turn.expect_release()
            claim = await self.db.transaction(
                lambda session: self._try_claim(session, tenant, conversation_id, incoming)
            )
            if not isinstance(claim, _Leased):
                return claim
            left = deadline - loop.time()
            if left <= 0:
                raise BusyRetry("the previous message of this conversation is still being answered")
            await turn.wait_for_release(min(claim.seconds, left))

    async def _try_claim(
        self, session: AsyncSession, tenant: TenantContext, conversation_id: uuid.UUID, incoming: _Incoming
    ) -> _Claim | _Replay | _Held | _Leased:
        """Store the message and take the lease; _Leased while another process answers this
        conversation. A conversation a person has taken over stores the message for them and takes
        no lease."""
        conversation = await turn_rows.locked_conversation(session, tenant, conversation_id)
        # The lease is a process timer, so it runs on the real clock even when a test injects `now`.
        clock = datetime.now(UTC)
        lease_until = conversation.turn_lease_until
        # A small margin past the lease's end, so the look after waiting finds it over.
        leased = (
            _Leased((lease_until - clock).total_seconds() + 0.01)
            if lease_until and lease_until > clock
            else None
        )
        if incoming.client_message_id is not None:
            retried = {"conversation_id": conversation_id, "client_message_id": incoming.client_message_id}
            earlier = (await session.execute(turn_rows.BY_CLIENT_ID, retried)).scalar_one_or_none()
            if earlier is not None:
                if leased:
                    return leased  # still being answered: wait, then replay
                answer = await turn_rows.answer_to(session, earlier)
                if len(answer) > 1 or conversation.handler == "staff" or incoming.for_staff:
                    return _Replay(answer)
                # Its turn stored no reply (the process answering it died): answer it now.
                await turn_rows.append_messages(session, tenant, conversation, [], lease=clock + self.lease)
                return await _claim_of(session, tenant, conversation, answer[0], clock)
        held = conversation.handler == "staff" or incoming.for_staff
        # Before waiting: a message over the rate is refused now, not after the turn ahead of it.
        await self._check_rate(session, conversation_id, clock)
        if leased and not held:
            return leased
        lease = conversation.turn_lease_until if held else clock + self.lease
        payload = {"choice": incoming.choice} if incoming.choice else {}
        message = StoredMessage(
            conversation.last_seq + 1, "patient", incoming.text, payload, clock, incoming.client_message_id
        )
        [message] = await turn_rows.append_messages(session, tenant, conversation, [message], lease=lease)
        if held:
            return _Held(message)
        return await _claim_of(session, tenant, conversation, message, clock)

    async def _finish(
        self,
        session: AsyncSession,
        tenant: TenantContext,
        conversation_id: uuid.UUID,
        replies: list[Reply],
        state: ConversationState,
        desk: PracticeDesk,
        disclosure: str | None,
    ) -> list[StoredMessage]:
        desk.audit_pending(session)
        conversation = await turn_rows.locked_conversation(session, tenant, conversation_id)
        if conversation.handler == "staff":
            # Taken over while the agent was thinking: a person answers now, not this turn.
            replies = []
        clock = datetime.now(UTC)
        if disclosure is not None and replies and conversation.disclosed_at is None:
            replies = [replace(replies[0], text=f"{disclosure} {replies[0].text}"), *replies[1:]]
            await session.execute(turn_rows.DISCLOSED, {"conversation_id": conversation.id, "at": clock})
        messages = [
            StoredMessage(conversation.last_seq + n, "assistant", reply.text, reply.payload(), clock)
            for n, reply in enumerate(replies, start=1)
        ]
        return await turn_rows.append_messages(
            session, tenant, conversation, messages, lease=None, state=state.model_dump(mode="json")
        )


async def _claim_of(
    session: AsyncSession,
    tenant: TenantContext,
    conversation: Conversation,
    message: StoredMessage,
    clock: datetime,
) -> _Claim:
    """What the agent needs to answer `message`: the state, the history before it, the practice."""
    recent = await session.execute(
        turn_rows.HISTORY, {"conversation_id": conversation.id, "seq": message.seq}
    )
    history = [HistoryMessage(role, body) for role, body in reversed(recent.all())]
    state = ConversationState.model_validate(conversation.state or {})
    return _Claim(message, state, history, await practice_info(session, tenant, clock))
