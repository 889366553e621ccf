"""Phone calls: Twilio's voice webhooks, answered inline by the same agent as every other channel.

A call is a `voice_calls` row and a conversation; each turn is a numbered step whose answer (TwiML)
is stored, so a repeated request gets the same answer and does nothing twice, and a server that
restarts mid-call picks the call up at the next step from PostgreSQL. Silence and answers the
agent cannot place are counted: twice silent, the options are offered on the keypad; three
failures in a row, the caller is put through to the practice's staff number, or politely let go.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from agent.dialogue import MENU
from agent.loop import Inbound
from agent.replies import Reply
from agent.state import Choice, ConversationState
from backend.conversations import service as conversations
from backend.conversations.handoff import HandoffLinks
from backend.conversations.turns import Answered, Responder, Turns
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import ValidationFailed
from backend.core.settings import Settings
from backend.messaging import opt_outs, outbox
from backend.scheduling import catalog
from backend.telephony import call_records, phone_numbers
from backend.telephony.models import VoiceCall
from backend.tenants import service as tenants
from channels import voice
from channels.voice import GatherSpec
from policy import replies as reply_rules

# A call with no turn for this long is over even if its status callback never came.
STALE_CALL = timedelta(minutes=30)
SILENCES_BEFORE_KEYPAD = 2
FAILURES_BEFORE_TRANSFER = 3
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
            # One caller at a time counts against the limit, so two rings at once cannot both squeeze in.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": call_records.calls_lock(tenant.id)}
            )
            active = await session.scalar(
                select(func.count())
                .select_from(VoiceCall)
                .where(
                    VoiceCall.tenant_id == tenant.id,
                    VoiceCall.status == "active",
                    VoiceCall.updated_at > now - STALE_CALL,
                )
            )
            if (active or 0) >= tenant.settings.max_concurrent_calls:
                twiml = voice.goodbye(
                    f"Thanks for calling {tenant.name}. All our lines are busy right now. Please call again "
                    "in a few minutes, or send us a text at this number. Goodbye.",
                    self.language,
                )
                call_records.new_call(session, call, tenant, None, "rejected", now, end_reason="busy")
                await session.flush()
                call_records.store_turn(session, call.sid, 0, "", twiml)
                return twiml
            thread = await conversations.phone_thread(
                session, tenant, "voice", call.practice_number, call.caller_phone or call.caller_number
            )
            if call.caller_phone is None:
                thread.state = {}  # a withheld number is no identity: the receptionist asks as on the web
            greeting = reply_rules.voice_greeting(tenant.name)
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
        if heard == "0":
            heard = "I'd like to talk to a person"
        if _BYE.match(heard):
            return await self._finish_turn(
                row,
                step,
                heard,
                voice.goodbye(f"Thanks for calling {tenant.name}. Goodbye.", self.language),
                now,
                ended="caller_done",
            )
        responder = self._handoff(caller, row, now) if _HANDOFF.search(heard) else None
        answered = await self.turns.answer(
            caller,
            row.conversation_id,
            Inbound(heard),
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
        spoken = _spoken(answered)
        # Not understood, or asked the same question again: the conversation is not moving.
        stuck = not answered.understood or spoken.text == row.last_prompt
        failures = row.failures + 1 if stuck else 0
        if failures >= FAILURES_BEFORE_TRANSFER:
            return await self._give_up(row, tenant, step, heard, now)
        state = await self.db.transaction(lambda session: _state(session, row.conversation_id))
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
                speech = "You can also use your keypad. " + await _keypad_options(
                    session, row.conversation_id
                )
            return voice.ask(speech, await self._gather(session, tenant, step + 1))

        twiml = await self.db.transaction(work)
        return await self._finish_turn(row, step, "", twiml, now, silences=silences, failures=failures)

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
        """Store this step's answer (the first wins if it was asked twice) and the call's counters."""

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
            return twiml

        return await self.db.transaction(work)

    # ---- "text me a link" ----

    def _handoff(self, caller: Caller, row: VoiceCall, now: datetime) -> Responder:
        async def send_link(state: ConversationState) -> list[Reply]:
            phone = call_records.real_phone(row.from_number)
            if phone is None:
                return [Reply("I can't send a text to a withheld number, sorry. How else can I help?")]
            assert row.conversation_id is not None
            link = self.links.issue(caller.tenant.id, row.conversation_id, now)

            async def work(session: AsyncSession) -> bool:
                if await opt_outs.is_opted_out(session, caller.tenant.id, phone):
                    return False
                minutes = int(self.links.lifetime.total_seconds() // 60)
                await outbox.enqueue(
                    session,
                    caller,
                    outbox.NewMessage(
                        kind="handoff_link",
                        channel="sms",
                        recipient=phone,
                        body=f"{caller.tenant.name}: continue our conversation here: {link} "
                        f"(works for {minutes} min)",
                        dedupe_key=f"handoff_link:{row.call_sid}",
                        urgent=True,
                        sender=row.to_number,
                    ),
                    now,
                )
                audit.record(session, caller, "voice.handoff_link_sent", "conversation", row.conversation_id)
                return True

            if not await self.db.transaction(work):
                return [
                    Reply(
                        "This number has opted out of our texts, so I can't send a link. Text START to this "
                        "number to opt back in. How else can I help?"
                    )
                ]
            return [
                Reply(
                    "I've sent you a text with a link to carry on in writing, where you left off. "
                    "Is there anything else I can help with on the phone?"
                )
            ]

        return send_link

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
                call.status, call.ended_at, call.end_reason, call.updated_at = "ended", now, status, now

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


def _spoken(answered: Answered) -> voice.Spoken:
    replies = answered.replies
    options = replies[-1].payload.get("quick_replies", []) if replies else []
    return voice.speakable([m.text for m in replies], [o["label"] for o in options])


async def _keypad_options(session: AsyncSession, conversation_id: uuid.UUID | None) -> str:
    """Read the options out with their digits; with none on offer, the main menu (and keep it, so
    the digit pressed next means that option)."""
    conversation = await conversations.by_id(session, conversation_id, lock=True)
    state = ConversationState.model_validate(conversation.state or {})
    if not state.choices:
        state.choices = [Choice(label=q.label, value=q.value) for q in MENU]
        conversation.state = state.model_dump(mode="json")
    labels = tuple(voice.for_the_ear(c.label) for c in state.choices[: voice.MAX_SPOKEN_OPTIONS])
    return voice.options_prompt(labels) + " Or press 0 to talk to a person."


async def _state(session: AsyncSession, conversation_id: uuid.UUID | None) -> ConversationState:
    conversation = await conversations.by_id(session, conversation_id)
    return ConversationState.model_validate(conversation.state or {})
