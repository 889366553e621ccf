"""Texts patients send to a practice number.

The webhook (`receive`) routes the text to its tenant by the number it was sent to, stores it (the
row is also the MessageSid dedupe record) and settles carrier keywords on the spot, so a STOP takes
effect before the webhook has even answered. Everything else is a conversation turn, which the
worker (`SmsInbox.process_due`) runs: a reply to a reminder ("C", "R"), or the agent. Every answer
is one text through the outbox, from the number the patient wrote to.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from agent.loop import Inbound
from agent.state import ConversationState
from backend.conversations import service as conversations
from backend.conversations.reminder_replies import Reminded, ReminderReplies, last_reminded
from backend.conversations.service import StoredMessage
from backend.conversations.turns import Turns
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import RateLimited, ValidationFailed
from backend.core.schemas import E164_PATTERN
from backend.core.settings import Settings
from backend.customers import service as customers
from backend.messaging import opt_outs, outbox
from backend.telephony import opted_out_texts, phone_numbers
from backend.telephony.models import InboundSms
from backend.tenants import service as tenants
from channels import sms
from policy import replies as reply_rules

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
# A safety message (with the disclosure before it, in a thread's first reply) may take a segment
# more than usual rather than be cut.
WHOLE_SEGMENTS = 3


@dataclass(frozen=True)
class Received:
    """What the webhook answers: nothing in TwiML (replies go through the outbox), or, for a number
    no tenant owns, a polite generic text straight away."""

    known_number: bool


def parse(form: dict[str, str]) -> tuple[str, str, str, str]:
    """MessageSid, From, To and Body of a Twilio message webhook; ValidationFailed names what's wrong."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid:
        raise ValidationFailed("MessageSid", "required")
    numbers = []
    for field in ("From", "To"):
        value = form.get(field, "").strip()
        if not re.fullmatch(E164_PATTERN, value):
            raise ValidationFailed(field, "must be a phone number in E.164 form, like +16175550100")
        numbers.append(value)
    return sid, numbers[0], numbers[1], form.get("Body", "")


async def receive(session: AsyncSession, form: dict[str, str], now: datetime) -> Received:
    sid, patient, practice_number, body = parse(form)
    tenant = await phone_numbers.tenant_for(session, practice_number)
    if tenant is None:
        audit.record_unattributed(
            session,
            "twilio-webhook",
            "sms.unknown_number",
            "inbound_sms",
            {"to": practice_number, "sid": sid},
        )
        return Received(known_number=False)
    row_id = await session.scalar(
        insert(InboundSms)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            message_sid=sid,
            from_number=patient,
            to_number=practice_number,
            body=body[:5000],
            status="received",
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=[InboundSms.message_sid])
        .returning(InboundSms.id)
    )
    if row_id is None:
        return Received(known_number=True)  # a redelivery: already stored, nothing more to do
    row = await session.get_one(InboundSms, row_id)
    await _settle_keyword(session, tenant, row, now)
    return Received(known_number=True)


async def _settle_keyword(
    session: AsyncSession, tenant: TenantContext, row: InboundSms, now: datetime
) -> None:
    """STOP, START, HELP (and YES from an unsubscribed number) are answered here, at once; a text
    from an unsubscribed number is kept but not answered."""
    word = sms.keyword(row.body)
    opted_out = await opt_outs.is_opted_out(session, tenant.id, row.from_number)
    # The patient by their channel: their number is personal data, kept out of the audit log.
    caller = Caller(tenant, actor="patient:sms", correlation_id=row.message_sid)

    if word == "opt_out":
        row.status, row.handling = "handled", "opt_out"
        if not opted_out:
            await opt_outs.record_opt_out(session, tenant.id, row.from_number, "keyword")
            await customers.set_sms_consent_by_phone(session, caller, row.from_number, False, "keyword", now)
            audit.record(session, caller, "sms.opted_out", "phone", None, {"phone": row.from_number})
            visit = await opted_out_texts.visit_note(session, tenant, row, now)
            confirmation = text_back(row, outbox.OPT_OUT_CONFIRMATION, opt_out_text(tenant) + visit)
            await outbox.enqueue(session, caller, confirmation, now)
            if visit and sms.lone_word(row.body) in opted_out_texts.VISIT_WORDS:
                reason = "Texted an opt-out word with a visit booked: unsubscribed from texts, visit kept."
                await opted_out_texts.to_inbox(session, caller, row, reason)
    elif word == "opt_in" or (word == "yes" and opted_out):
        row.status, row.handling = "handled", "opt_in"
        await opt_outs.record_opt_in(session, tenant.id, row.from_number)
        await customers.set_sms_consent_by_phone(session, caller, row.from_number, True, "keyword", now)
        audit.record(session, caller, "sms.opted_in", "phone", None, {"phone": row.from_number})
        await outbox.enqueue(session, caller, text_back(row, "opt_in_confirmation", opt_in_text(tenant)), now)
    elif opted_out:
        # No answer but HELP's (carriers require it) goes to this number until it opts back in; what
        # it says reaches the staff inbox.
        row.status, row.handling = "opted_out", "help" if word == "help" else None
        if word == "help":
            await outbox.enqueue(session, caller, text_back(row, "help", help_text(tenant)), now)
        await opted_out_texts.to_inbox(session, caller, row, "Texted while unsubscribed: no automatic reply.")
    elif word == "help":
        row.status, row.handling = "handled", "help"
        await outbox.enqueue(session, caller, text_back(row, "help", help_text(tenant)), now)
    if row.status != "received":
        row.processed_at = now


def text_back(row: InboundSms, kind: str, body: str) -> outbox.NewMessage:
    """The one answer of `kind` to a text: to its sender, from the number it was sent to, at once."""
    return outbox.NewMessage(
        kind=kind,
        channel="sms",
        recipient=row.from_number,
        body=body,
        dedupe_key=f"{kind}:{row.message_sid}",
        urgent=True,
        sender=row.to_number,
    )


def opt_out_text(tenant: TenantContext) -> str:
    return (
        f"{tenant.name}: you're unsubscribed and will get no more texts from us. Reply START to resubscribe."
    )


def opt_in_text(tenant: TenantContext) -> str:
    return f"{tenant.name}: you're resubscribed to texts. Reply HELP for help, STOP to opt out."


def help_text(tenant: TenantContext) -> str:
    person = tenant.settings.staff_phone
    reach = f"call {person}" if person else 'text "talk to a person" and the team will reply'
    return (
        f"{tenant.name}: text us to book, move or cancel an appointment. To reach a person, {reach}. "
        "Reply STOP to opt out. Msg&data rates may apply."
    )


class SmsInbox:
    """The worker's side: answer stored texts, in order per patient, each exactly once."""

    def __init__(self, db: Database, settings: Settings, turns: Turns) -> None:
        self.db = db
        self.settings = settings
        self.turns = turns
        self.reminder_replies = ReminderReplies(db, "sms")

    async def process_due(self, now: datetime) -> int:
        """Answer the texts waiting (and any a dead worker left); the number answered."""
        claimed = await self.db.transaction(lambda session: self._claim(session, now))
        threads: dict[tuple[uuid.UUID, str, str], list[uuid.UUID]] = defaultdict(list)
        for row_id, key in claimed:
            threads[key].append(row_id)

        async def answer_thread(row_ids: list[uuid.UUID]) -> None:
            for row_id in row_ids:  # one patient's texts in the order they came
                await self._answer(row_id, now)

        await asyncio.gather(*(answer_thread(ids) for ids in threads.values()))
        return len(claimed)

    async def _claim(
        self, session: AsyncSession, now: datetime
    ) -> list[tuple[uuid.UUID, tuple[uuid.UUID, str, str]]]:
        rows = (
            await session.execute(
                select(InboundSms)
                .where(
                    or_(
                        InboundSms.status == "received",
                        (InboundSms.status == "processing") & (InboundSms.lease_until < now),
                    )
                )
                .order_by(InboundSms.received_at)
                .limit(self.settings.inbound_sms_batch_size)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
        claimed = []
        for row in rows:
            row.status = "processing"
            row.attempts += 1
            row.lease_until = now + timedelta(seconds=self.settings.inbound_sms_lease_seconds)
            claimed.append((row.id, (row.tenant_id, row.to_number, row.from_number)))
        return claimed

    async def _answer(self, row_id: uuid.UUID, now: datetime) -> None:
        try:
            await self._run_turn(row_id, now)
        except RateLimited as error:
            await self._settle(row_id, "rate_limited", now, error.message)
        except Exception as error:
            log.exception("answering inbound text %s failed", row_id)
            attempts = await self.db.transaction(lambda session: self._attempts(session, row_id))
            if attempts >= MAX_ATTEMPTS:
                await self._settle(row_id, "failed", now, f"{type(error).__name__}: {error}"[:500])
            # Otherwise the lease runs out and the next sweep tries again; the turn and the reply
            # are keyed by the MessageSid, so what already happened is not done twice.

    async def _run_turn(self, row_id: uuid.UUID, now: datetime) -> None:
        async def load(
            session: AsyncSession,
        ) -> tuple[InboundSms, TenantContext, uuid.UUID, ConversationState, Reminded | None]:
            row = await session.get_one(InboundSms, row_id)
            tenant = await tenants.get_context(session, row.tenant_id)
            thread = await conversations.phone_thread(session, tenant, "sms", row.to_number, row.from_number)
            row.conversation_id = thread.id
            state = ConversationState.model_validate(thread.state or {})
            # Read in the same transaction: one round of BEGIN/COMMIT fewer per text.
            return (
                row,
                tenant,
                thread.id,
                state,
                await last_reminded(session, tenant, now, phone=row.from_number),
            )

        row, tenant, conversation_id, state, reminded = await self.db.transaction(load)
        caller = Caller(
            tenant,
            actor=f"conversation:{conversation_id}",
            correlation_id=row.message_sid,
            texting=row.from_number,
        )
        inbound, responder, prelude, handling = Inbound(row.body), None, None, "turn"
        if reminded is not None and state.task is None:
            chosen = self.reminder_replies.handle(caller, reminded, row.body, state, now)
            inbound, responder, prelude, handling = (
                chosen.inbound,
                chosen.responder,
                chosen.prelude,
                chosen.name,
            )
        answered = await self.turns.answer(
            caller,
            conversation_id,
            inbound,
            channel="sms",
            now=now,
            client_message_id=row.message_sid,
            channel_phone=row.from_number,
            responder=responder,
            prelude=prelude,
            disclosure=reply_rules.disclosure(tenant.name),
        )
        if not answered.replies:
            await self.db.transaction(
                lambda session: _mark_held(session, tenant, conversation_id, row_id, now)
            )
            return
        text = compose_reply(answered.replies, WHOLE_SEGMENTS if answered.whole else sms.MAX_SEGMENTS)

        async def finish(session: AsyncSession) -> None:
            await outbox.enqueue(session, caller, text_back(row, "reply", text), now)
            await _mark(session, row_id, "answered", now, handling=handling)

        await self.db.transaction(finish)

    async def _settle(self, row_id: uuid.UUID, status: str, now: datetime, error: str) -> None:
        await self.db.transaction(lambda session: _mark(session, row_id, status, now, error=error))

    @staticmethod
    async def _attempts(session: AsyncSession, row_id: uuid.UUID) -> int:
        return (await session.get_one(InboundSms, row_id)).attempts


def compose_reply(replies: list[StoredMessage], max_segments: int = sms.MAX_SEGMENTS) -> str:
    """A turn's replies as one text; the last reply's quick replies become numbered options."""
    options = replies[-1].payload.get("quick_replies", []) if replies else []
    return sms.compose([m.text for m in replies], [o["label"] for o in options], max_segments)


async def _mark_held(
    session: AsyncSession, tenant: TenantContext, conversation_id: uuid.UUID, row_id: uuid.UUID, now: datetime
) -> None:
    """No reply: answered only if a member of staff has the conversation, or the clinic has switched
    texting off (they answer from the inbox); anything else is a failure, tried again while attempts
    are left."""
    conversation = await conversations.get(session, tenant, conversation_id)
    if conversation.handler != "staff" and tenant.switches.sms:
        raise RuntimeError(f"the turn of conversation {conversation_id} stored no reply")
    await _mark(session, row_id, "answered", now, handling="staff")


async def _mark(
    session: AsyncSession,
    row_id: uuid.UUID,
    status: str,
    now: datetime,
    *,
    handling: str | None = None,
    error: str | None = None,
) -> None:
    row = await session.get_one(InboundSms, row_id, with_for_update=True)
    row.status = status
    row.processed_at = now
    row.lease_until = None
    if handling is not None:
        row.handling = handling
    row.error = error
