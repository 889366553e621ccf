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
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agent.dialogue import menu_for
from agent.loop import Inbound
from agent.state import Choice, ConversationState
from backend.conversations import service as conversations
from backend.conversations.handoff import HandoffLinks
from backend.conversations.turns import Turns
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import ValidationFailed
from backend.core.settings import Settings
from backend.customers import service as customers
from backend.scheduling import catalog
from backend.telephony import (
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
from policy import replies as reply_rules
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
                twiml = call_refusals.refuse(session, call, tenant, "switched_off", now, self.language)
                await session.flush()
                call_records.store_turn(session, call.sid, 0, "", twiml)
                return twiml
            # One caller at a time counts against the limit, so two rings at once cannot both squeeze in.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": call_records.calls_lock(tenant.id)}
            )
            await call_ends.end_abandoned(session, tenant, now)
            active = await session.scalar(
                select(func.count())
                .select_from(VoiceCall)
                .where(VoiceCall.tenant_id == tenant.id, VoiceCall.status == "active")
            )
            if (active or 0) >= tenant.settings.max_concurrent_calls:
                twiml = call_refusals.refuse(session, call, tenant, "busy", now, self.language)
                await session.flush()
                call_records.store_turn(session, call.sid, 0, "", twiml)
                return twiml
            resumed = None
            if call.caller_phone is not None:
                resumed = await call_ends.resumable(session, tenant, call.caller_phone, now)
            if resumed is not None:  # rung back after a dropped call: where it was
                conversation_id, pick_up = resumed
                greeting = f"Thanks for calling {tenant.name} again. {pick_up}"
                greeting += " " + voice.options_prompt(("Yes", "No"))
                twiml = voice.ask(greeting, await self._gather(session, tenant, 1))
                call_records.new_call(
                    session, call, tenant, conversation_id, "active", now, last_prompt=greeting
                )
                await session.flush()
                call_records.store_turn(session, call.sid, 0, "", twiml)
                return twiml
            thread = await conversations.phone_thread(
                session, tenant, "voice", call.practice_number, call.caller_phone or call.caller_number
            )
            state = ConversationState()
            if call.caller_phone is not None:  # a withheld number is no identity: asked as on the web
                state.phone = call.caller_phone
                state.name = await customers.name_on_file(session, tenant, call.caller_phone)
            # The choices of the greeting can be pressed from the first word on.
            menu = menu_for(tenant.switches)
            state.choices = [Choice(label=q.label, value=q.value) for q in menu]
            thread.state = state.model_dump(mode="json")
            welcome = f" Welcome back, {state.name.split()[0]}." if state.name else ""
            greeting = reply_rules.voice_greeting(tenant.name, tenant.switches) + welcome
            greeting += " " + voice.options_prompt(tuple(q.label for q in menu))
            twiml = voice.ask(greeting, await self._gather(session, tenant, 1))
            call_records.new_call(session, call, tenant, thread.id, "active", now, last_prompt=greeting)
            await session.flush()
            call_records.store_turn(session, call.sid, 0, "", twiml)
            return twiml

        return await self.db.transaction(work)

    # ---- one turn ----

    async def turn(self, form: dict[str, str], step: int) -> str:
        call = call_records.parse_call(form)
        heard = (form.get("SpeechResult") or form.get("Digits") or "").strip()
        now = self.clock()
        loaded = await self.db.transaction(lambda session: self._load(session, call.sid, step))
        if isinstance(loaded, str):
            return loaded
        row, tenant = loaded
        if not heard:
            return await self._silence(row, tenant, step, now)
        caller = Caller(tenant, actor=f"conversation:{row.conversation_id}", correlation_id=call.sid)
        assert row.conversation_id is not None
        if voice.wants_repeat(heard):  # asking to hear it again is not a miss
            return await self._say_again(row, tenant, step, heard, "", now, failures=row.failures)
        meaning = None
        number = voice.option_number(heard)
        if number == 0:
            heard = "I'd like to talk to a person"
        elif number is not None:
            choices = (
                await self.db.transaction(lambda session: spoken_options.state(session, row.conversation_id))
            ).choices
            if number > len(choices) and choices:
                # Only options read out can be chosen: a key or number beyond them chose nothing.
                if row.failures + 1 >= FAILURES_BEFORE_TRANSFER:
                    return await self._give_up(row, tenant, step, heard, now)
                missed = f"Sorry, there's no option {voice.number_words(number)}."
                return await self._say_again(row, tenant, step, heard, missed, now, failures=row.failures + 1)
            if choices:
                meaning = choices[number - 1].value
        if _BYE.match(heard):
            return await self._finish_turn(
                row,
                step,
                heard,
                voice.goodbye(f"Thanks for calling {tenant.name}. Goodbye.", self.language),
                now,
                ended="caller_done",
            )
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
            return await self._finish_turn(row, step, heard, goodbye, now, ended="staff")
        if answered.dial is not None:  # after an emergency: the number the caller chose
            said = voice.for_the_ear(answered.replies[-1].text)
            twiml = voice.transfer(said, answered.dial, self.language)
            to_staff = answered.dial == tenant.settings.staff_phone
            return await self._finish_turn(row, step, heard, twiml, now, ended=_put_through(to_staff))
        spoken = await self.db.transaction(
            lambda session: spoken_options.spoken(session, row.conversation_id, answered)
        )
        # Not understood, or asked the same question again: the conversation is not moving.
        # (The safety message said again to a caller who says more about an emergency is not stuck.)
        stuck = not answered.understood or (spoken.text == row.last_prompt and not answered.whole)
        failures = row.failures + 1 if stuck else 0
        if failures >= FAILURES_BEFORE_TRANSFER:
            return await self._give_up(row, tenant, step, heard, now)
        state = await self.db.transaction(lambda session: spoken_options.state(session, row.conversation_id))
        if state.handed_to_human and tenant.settings.staff_phone:
            twiml = voice.transfer(
                "Let me put you through to the team now.", tenant.settings.staff_phone, self.language
            )
            return await self._finish_turn(row, step, heard, twiml, now, ended="transferred")

        async def gather(session: AsyncSession) -> str:
            return voice.ask(spoken.text, await self._gather(session, tenant, step + 1))

        twiml = await self.db.transaction(gather)
        return await self._finish_turn(
            row, step, heard, twiml, now, silences=0, failures=failures, prompt=spoken.text
        )

    async def _load(
        self, session: AsyncSession, sid: str, step: int
    ) -> str | tuple[VoiceCall, TenantContext]:
        stored = await call_records.stored_answer(session, sid, step)
        if stored is not None:
            return stored
        row = await session.get(VoiceCall, sid)
        if row is None or row.status != "active" or row.conversation_id is None:
            return voice.goodbye("Sorry, this call has ended. Please call again. Goodbye.", self.language)
        return row, await tenants.get_context(session, row.tenant_id)

    async def _silence(self, row: VoiceCall, tenant: TenantContext, step: int, now: datetime) -> str:
        silences, failures = row.silences + 1, row.failures + 1
        if failures >= FAILURES_BEFORE_TRANSFER:
            return await self._give_up(row, tenant, step, "", now)

        async def work(session: AsyncSession) -> str:
            if silences < SILENCES_BEFORE_KEYPAD:
                speech = f"Sorry, I didn't hear anything. {row.last_prompt}"
            else:
                speech = "You can also use your keypad. " + await spoken_options.keypad_options(
                    session, row.conversation_id
                )
            return voice.ask(speech, await self._gather(session, tenant, step + 1))

        twiml = await self.db.transaction(work)
        return await self._finish_turn(row, step, "", twiml, now, silences=silences, failures=failures)

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
    ) -> str:
        """The last question and its options again, after `lead`."""

        async def work(session: AsyncSession) -> str:
            speech = f"{lead} {row.last_prompt}".strip()
            return voice.ask(speech, await self._gather(session, tenant, step + 1))

        twiml = await self.db.transaction(work)
        return await self._finish_turn(row, step, heard, twiml, now, failures=failures)

    async def _give_up(
        self, row: VoiceCall, tenant: TenantContext, step: int, heard: str, now: datetime
    ) -> str:
        staff = tenant.settings.staff_phone
        if staff:
            twiml = voice.transfer(
                "Sorry, I'm having trouble helping you by phone. Let me put you through to the team.",
                staff,
                self.language,
            )
            return await self._finish_turn(row, step, heard, twiml, now, ended="transferred")
        twiml = voice.goodbye(
            f"Sorry, I couldn't help you by phone this time. Please call {tenant.name} again later, or send "
            "us a text at this number. Goodbye.",
            self.language,
        )
        return await self._finish_turn(row, step, heard, twiml, now, ended="gave_up")

    async def _finish_turn(
        self,
        row: VoiceCall,
        step: int,
        heard: str,
        twiml: str,
        now: datetime,
        *,
        silences: int | None = None,
        failures: int | None = None,
        prompt: str | None = None,
        ended: str | None = None,
    ) -> str:
        """Store this step's answer (the first wins if it was asked twice) and the call's counters. A
        call put through to the clinic's staff is no longer waiting for a person; one put through to
        the emergency number is, for the clinic to follow up."""

        async def work(session: AsyncSession) -> str:
            stored = await call_records.stored_answer(session, row.call_sid, step)
            if stored is not None:
                return stored
            call_records.store_turn(session, row.call_sid, step, heard, twiml)
            call = await session.get_one(VoiceCall, row.call_sid, with_for_update=True)
            call.step = max(call.step, step)
            call.updated_at = now
            if silences is not None:
                call.silences = silences
            if failures is not None:
                call.failures = failures
            if prompt is not None:
                call.last_prompt = prompt
            if ended is not None:
                call.status, call.ended_at, call.end_reason = "ended", now, ended
            if ended in PUT_THROUGH and call.conversation_id is not None:
                caller = Caller(
                    await tenants.get_context(session, call.tenant_id),
                    actor=f"conversation:{call.conversation_id}",
                    correlation_id=call.call_sid,
                )
                await conversations.put_through(
                    session, caller, call.conversation_id, to_staff=ended == "transferred"
                )
            return twiml

        return await self.db.transaction(work)

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

    async def _gather(self, session: AsyncSession, tenant: TenantContext, step: int) -> GatherSpec:
        services, _ = await catalog.list_services(session, tenant)
        hints = (*(s.name for s in services[:20]), "book", "reschedule", "cancel", "opening hours")
        return GatherSpec(
            action=f"{self.settings.public_base_url.rstrip('/')}/twilio/voice/turn?step={step}",
            language=self.language,
            timeout_seconds=self.settings.voice_gather_timeout_seconds,
            hints=hints,
        )


def _put_through(to_staff: bool) -> str:
    return "transferred" if to_staff else "emergency_transferred"
