"""Phone calls: Twilio's voice webhooks, answered inline by the same agent as every other channel.

A call is a `voice_calls` row and a conversation; each turn is a numbered step whose answer (TwiML)
is stored, so a repeated request gets the same answer and does nothing twice, and a server that
restarts mid-call picks the call up at the next step from PostgreSQL. Silence and answers the
agent cannot place are counted: twice silent, the options are offered on the keypad; three
failures in a row, the caller is put through to the practice's staff number, or politely let go.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agent.loop import Inbound
from agent.state import ConversationState
from backend.conversations import service as conversations
from backend.conversations.handoff import HandoffLinks
from backend.conversations.turns import Answered, Turns
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import ValidationFailed
from backend.core.settings import Settings
from backend.scheduling import catalog, keyed_references
from backend.telephony import (
    call_arrivals,
    call_ends,
    call_handoff,
    call_records,
    call_refusals,
    phone_numbers,
    spoken_options,
)
from backend.telephony.models import VoiceCall
from backend.tenants import service as tenants
from channels import voice
from channels.voice import GatherSpec
from policy.switches import channel_decision

SILENCES_BEFORE_KEYPAD = 2
FAILURES_BEFORE_TRANSFER = 3
# How a call put through ends: to the clinic's staff, or to the emergency number.
PUT_THROUGH = frozenset({"transferred", "emergency_transferred"})
ENDED_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_HANDOFF = re.compile(
    r"\b(text|sms|message|send)\b.*\b(me|link)\b"
    r"|\b(continue|carry on|finish)\b.*\b(writing|text|chat|online)\b",
    re.I,
)
_BYE = re.compile(r"^\W*(no,? )?(that'?s (all|it)|bye|goodbye|nothing( else)?|no thanks?( you)?)\W*$", re.I)


class PhoneCalls:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        turns: Turns,
        links: HandoffLinks,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.settings = settings
        self.turns = turns
        self.links = links
        self.clock = clock
        self.language = settings.voice_language

    # ---- the call arrives ----

    async def incoming(self, form: dict[str, str]) -> str:
        call = call_records.parse_call(form)
        now = self.clock()

        async def work(session: AsyncSession) -> str:
            stored = await call_records.stored_answer(session, call.sid, 0)
            if stored is not None:
                return stored
            tenant = await phone_numbers.tenant_for(session, call.practice_number)
            if tenant is None:
                audit.record_unattributed(
                    session,
                    "twilio-webhook",
                    "voice.unknown_number",
                    "voice_call",
                    {"to": call.practice_number},
                )
                return voice.goodbye(
                    "Sorry, this number is not set up with our receptionist. Please check the number and "
                    "call again. Goodbye.",
                    self.language,
                )
            switch = channel_decision("voice", tenant.switches)
            if not switch.allowed:
                caller = Caller(tenant, actor="patient:voice", correlation_id=call.sid)
                details = {"rule": switch.rule, "policy_reason": switch.reason}
                audit.record(session, caller, "policy.denied", "voice_call", call.sid, details)
                return await call_refusals.refuse(session, call, tenant, "switched_off", now, self.language)
            # First, so a caller ringing back after a call that went quiet finds where it was.
            await call_ends.end_abandoned(session, tenant, now)
            gather = await self._gather(session, tenant, 1)
            twiml = await call_arrivals.greet(session, tenant, call, now, gather)
            # Counted last, so the tenant's calls lock is held only from the count to the commit:
            # two rings at once cannot both squeeze in, and neither waits for the other's greeting.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": call_records.calls_lock(tenant.id)}
            )
            active = await session.scalar(
                select(func.count())
                .select_from(VoiceCall)
                .where(VoiceCall.tenant_id == tenant.id, VoiceCall.status == "active")
            )
            if (active or 0) > tenant.settings.max_concurrent_calls:  # this call is one of them
                raise call_arrivals.LinesBusy(tenant)
            return twiml

        try:
            return await self.db.transaction(work)
        except call_arrivals.LinesBusy as busy:  # everything the greeting did is rolled back
            tenant = busy.tenant
        return await self.db.transaction(
            lambda session: call_arrivals.turn_away(session, tenant, call, now, self.language)
        )

    # ---- one turn ----

    async def turn(self, form: dict[str, str], step: int) -> str:
        """One answer of the caller. Around the agent's turn the call costs two transactions: one
        reads the call, one stores what was said (the TwiML, the transcript, the options on offer)."""
        call = call_records.parse_call(form)
        heard = (form.get("SpeechResult") or form.get("Digits") or "").strip()
        now = self.clock()
        loaded = await self.db.transaction(lambda session: self._load(session, call.sid, step))
        if isinstance(loaded, str):
            return loaded
        row, tenant, state = loaded
        choices, keyed = state.choices, spoken_options.key_it_in(state) is not None
        if not heard:
            return await self._silence(row, tenant, step, now, keyed)
        caller = Caller(tenant, actor=f"conversation:{row.conversation_id}", correlation_id=call.sid)
        assert row.conversation_id is not None
        if voice.wants_repeat(heard):  # asking to hear it again is not a miss
            failures = row.failures
            return await self._say_again(row, tenant, step, heard, "", now, failures=failures, keyed=keyed)
        if state.awaiting == "reference" and form.get("Digits"):  # a reference keyed in, key by key
            keys = heard
            spelled = await self.db.transaction(
                lambda session: keyed_references.reference_keyed(session, tenant, keys, now)
            )
            heard = spelled or heard
        meaning = None
        number = voice.option_number(heard)
        if number == 0:
            heard = "I'd like to talk to a person"
        elif number is not None and number > len(choices) and choices:
            # Only options read out can be chosen: a key or number beyond them chose nothing.
            if row.failures + 1 >= FAILURES_BEFORE_TRANSFER:
                return await self._store(row, step, heard, now, self._give_up(tenant))
            missed = f"Sorry, there's no option {voice.number_words(number)}."
            return await self._say_again(
                row, tenant, step, heard, missed, now, failures=row.failures + 1, keyed=keyed
            )
        elif number is not None and choices:
            meaning = choices[number - 1].value
        if _BYE.match(heard):
            goodbye = voice.goodbye(f"Thanks for calling {tenant.name}. Goodbye.", self.language)
            return await self._store(row, step, heard, now, _Said(goodbye, ended="caller_done"))
        wants_link = _HANDOFF.search(heard)
        responder = call_handoff.text_me_a_link(self.db, self.links, caller, row, now) if wants_link else None
        answered = await self.turns.answer(
            caller,
            row.conversation_id,
            Inbound(heard, meaning=meaning),
            channel="voice",
            now=now,
            client_message_id=f"{call.sid}:{step}",
            channel_phone=call_records.real_phone(row.from_number),
            responder=responder,
        )
        if not answered.replies:  # a member of staff has taken the conversation over
            goodbye = voice.goodbye(
                f"A member of the {tenant.name} team is looking after this now and will text you shortly. "
                "Goodbye.",
                self.language,
            )
            return await self._store(row, step, heard, now, _Said(goodbye, ended="staff"))
        return await self.db.transaction(
            lambda session: self._answer(session, row, tenant, step, heard, answered, now)
        )

    async def _answer(
        self,
        session: AsyncSession,
        row: VoiceCall,
        tenant: TenantContext,
        step: int,
        heard: str,
        answered: Answered,
        now: datetime,
    ) -> str:
        """What the caller hears after the agent's turn, stored as the step's answer and, word for
        word, as the turn's line of the transcript."""
        stored = await call_records.stored_answer(session, row.call_sid, step)
        if stored is not None:
            return stored
        assert row.conversation_id is not None
        # The call before its conversation, in the order its end (the status callback) locks them.
        await session.get_one(VoiceCall, row.call_sid, with_for_update=True)
        said: _Said
        read: list[dict[str, Any]] = []
        if answered.dial is not None:  # after an emergency: the number the caller chose
            speech = " ".join(voice.for_the_ear(r.text) for r in answered.replies)
            to_staff = answered.dial == tenant.settings.staff_phone
            said = _Said(voice.transfer(speech, answered.dial, self.language), speech, _put_through(to_staff))
        else:
            turn = await spoken_options.spoken(session, row.conversation_id, answered)
            key_it_in = spoken_options.key_it_in(turn.state)
            text = f"{turn.spoken.text} {key_it_in}" if key_it_in else turn.spoken.text
            # Not understood, or asked the same question again: the conversation is not moving.
            # (The safety message said again to a caller who says more about an emergency is not stuck.)
            stuck = not answered.understood or (text == row.last_prompt and not answered.whole)
            failures = row.failures + 1 if stuck else 0
            staff = tenant.settings.staff_phone
            if failures >= FAILURES_BEFORE_TRANSFER:
                said = self._give_up(tenant)
            elif turn.state.handed_to_human and staff:
                speech = "Let me put you through to the team now."
                said = _Said(voice.transfer(speech, staff, self.language), speech, "transferred")
            else:
                gather = await self._gather(session, tenant, step + 1, keyed=key_it_in is not None)
                said = _Said(voice.ask(text, gather), text, silences=0, failures=failures, prompt=text)
                read = turn.read
        await conversations.record_said(session, row.conversation_id, answered.replies, said.speech, read)
        return await self._write_step(session, row, step, heard, now, said)

    async def _load(
        self, session: AsyncSession, sid: str, step: int
    ) -> str | tuple[VoiceCall, TenantContext, ConversationState]:
        stored = await call_records.stored_answer(session, sid, step)
        if stored is not None:
            return stored
        row = await session.get(VoiceCall, sid)
        if row is None or row.status != "active" or row.conversation_id is None:
            return voice.goodbye("Sorry, this call has ended. Please call again. Goodbye.", self.language)
        state = await spoken_options.state(session, row.conversation_id)
        return row, await tenants.get_context(session, row.tenant_id), state

    async def _silence(
        self, row: VoiceCall, tenant: TenantContext, step: int, now: datetime, keyed: bool
    ) -> str:
        silences, failures = row.silences + 1, row.failures + 1
        if failures >= FAILURES_BEFORE_TRANSFER:
            return await self._store(row, step, "", now, self._give_up(tenant))

        async def work(session: AsyncSession) -> str:
            await session.get_one(VoiceCall, row.call_sid, with_for_update=True)  # before its conversation
            if silences < SILENCES_BEFORE_KEYPAD:
                speech = f"Sorry, I didn't hear anything. {row.last_prompt}"
            else:
                speech = "You can also use your keypad. " + await spoken_options.keypad_options(
                    session, row.conversation_id
                )
            keys = keyed and silences < SILENCES_BEFORE_KEYPAD  # the options by keypad are one key each
            twiml = voice.ask(speech, await self._gather(session, tenant, step + 1, keyed=keys))
            said = _Said(twiml, speech, silences=silences, failures=failures)
            return await self._write_step(session, row, step, "", now, said)

        return await self.db.transaction(work)

    async def _say_again(
        self,
        row: VoiceCall,
        tenant: TenantContext,
        step: int,
        heard: str,
        lead: str,
        now: datetime,
        *,
        failures: int,
        keyed: bool,
    ) -> str:
        """The last question and its options again, after `lead`."""

        async def work(session: AsyncSession) -> str:
            speech = f"{lead} {row.last_prompt}".strip()
            twiml = voice.ask(speech, await self._gather(session, tenant, step + 1, keyed=keyed))
            said = _Said(twiml, speech, failures=failures)
            return await self._write_step(session, row, step, heard, now, said)

        return await self.db.transaction(work)

    def _give_up(self, tenant: TenantContext) -> _Said:
        staff = tenant.settings.staff_phone
        if staff:
            speech = "Sorry, I'm having trouble helping you by phone. Let me put you through to the team."
            return _Said(voice.transfer(speech, staff, self.language), speech, "transferred")
        speech = (
            f"Sorry, I couldn't help you by phone this time. Please call {tenant.name} again later, or send "
            "us a text at this number. Goodbye."
        )
        return _Said(voice.goodbye(speech, self.language), speech, "gave_up")

    async def _store(self, row: VoiceCall, step: int, heard: str, now: datetime, said: _Said) -> str:
        return await self.db.transaction(
            lambda session: self._write_step(session, row, step, heard, now, said)
        )

    async def _write_step(
        self, session: AsyncSession, row: VoiceCall, step: int, heard: str, now: datetime, said: _Said
    ) -> str:
        """Store this step's answer (the first wins if it was asked twice) and the call's counters. A
        call put through to the clinic's staff is no longer waiting for a person; one put through to
        the emergency number is, for the clinic to follow up."""
        stored = await call_records.stored_answer(session, row.call_sid, step)
        if stored is not None:
            return stored
        call_records.store_turn(session, row.call_sid, step, heard, said.twiml)
        call = await session.get_one(VoiceCall, row.call_sid, with_for_update=True)
        call.step = max(call.step, step)
        call.updated_at = now
        if said.silences is not None:
            call.silences = said.silences
        if said.failures is not None:
            call.failures = said.failures
        if said.prompt is not None:
            call.last_prompt = said.prompt
        if said.ended is not None:
            call.status, call.ended_at, call.end_reason = "ended", now, said.ended
        if said.ended in PUT_THROUGH and call.conversation_id is not None:
            caller = Caller(
                await tenants.get_context(session, call.tenant_id),
                actor=f"conversation:{call.conversation_id}",
                correlation_id=call.call_sid,
            )
            await conversations.put_through(
                session, caller, call.conversation_id, to_staff=said.ended == "transferred"
            )
        return said.twiml

    # ---- status ----

    async def status(self, form: dict[str, str]) -> None:
        sid, status = form.get("CallSid", ""), form.get("CallStatus", "")
        if not sid or not status:
            raise ValidationFailed("CallSid" if not sid else "CallStatus", "required")
        if status not in ENDED_STATUSES:
            return
        now = self.clock()

        async def work(session: AsyncSession) -> None:
            call = await session.get(VoiceCall, sid, with_for_update=True)
            if call is not None and call.status == "active":
                await call_ends.end(
                    session, await tenants.get_context(session, call.tenant_id), call, status, now
                )

        await self.db.transaction(work)

    async def _gather(
        self, session: AsyncSession, tenant: TenantContext, step: int, *, keyed: bool = False
    ) -> GatherSpec:
        services, _ = await catalog.list_services(session, tenant)
        hints = (*(s.name for s in services[:20]), "book", "reschedule", "cancel", "opening hours")
        return GatherSpec(
            action=f"{self.settings.public_base_url.rstrip('/')}/twilio/voice/turn?step={step}",
            language=self.language,
            timeout_seconds=self.settings.voice_gather_timeout_seconds,
            hints=hints,
            keyed=keyed,
        )


@dataclass(frozen=True)
class _Said:
    """A step's answer: its TwiML, the words in it, and what it does to the call's counters."""

    twiml: str
    speech: str = ""
    ended: str | None = None
    silences: int | None = None
    failures: int | None = None
    prompt: str | None = None


def _put_through(to_staff: bool) -> str:
    return "transferred" if to_staff else "emergency_transferred"
