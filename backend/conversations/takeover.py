"""A person takes a conversation over from the receptionist, answers the patient, hands it back.

Taking over is one conditional UPDATE: from then on no agent turn runs for the conversation on any
channel (a turn already running stores no replies, see turns.py), and the patient is told a person
has joined. A staff reply leaves on the conversation's own channel: in the web chat at once, by
text through the outbox with all its rules (opt-out, quiet hours unless marked urgent, segments);
a phone call's patient gets it by text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import alerts
from backend.conversations.models import Conversation
from backend.conversations.service import StoredMessage, append
from backend.core import audit, events
from backend.core.context import Caller
from backend.core.errors import Conflict, NotFound, ValidationFailed
from backend.core.event_catalogue import ConversationHandedBack, ConversationTakenOver
from backend.messaging import outbox
from channels.segments import count_segments

# A staff reply by text: at most this many SMS segments (about 450 characters of plain text).
MAX_REPLY_SEGMENTS = 3
MAX_REPLY_CHARS = 2000


@dataclass(frozen=True)
class StaffReply:
    conversation: Conversation
    message: StoredMessage
    # The outbox row of a reply that leaves by text (its status shows whether it went).
    outbox_id: uuid.UUID | None


async def _locked(session: AsyncSession, caller: Caller, conversation_id: uuid.UUID) -> Conversation:
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.tenant_id == caller.tenant.id)
        .with_for_update()
    )
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


async def take_over(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, now: datetime
) -> tuple[Conversation, StoredMessage | None]:
    """Atomically make the caller the one answering; the note the patient sees (None when the
    caller already had it)."""
    if caller.staff_id is None:
        raise ValidationFailed("caller", "only a member of staff signed in to the workspace can take over")
    taken = await session.execute(
        update(Conversation)
        .where(
            Conversation.id == conversation_id,
            Conversation.tenant_id == caller.tenant.id,
            Conversation.handler == "receptionist",
        )
        .values(handler="staff", staff_id=caller.staff_id, taken_over_at=now, status="open")
        .returning(Conversation.id)
    )
    conversation = await _locked(session, caller, conversation_id)
    if taken.first() is None:
        if conversation.staff_id == caller.staff_id:
            return conversation, None
        raise Conflict(
            "a colleague is already answering this conversation",
            details={"staff_id": str(conversation.staff_id)},
        )
    alerts.acknowledge(session, caller, conversation, now)  # whoever answers has seen the alert
    first_name = (caller.staff_name or "A member of the team").split()[0]
    note = await append(
        session,
        conversation,
        "system",
        f"{first_name} from {caller.tenant.name} has joined the conversation.",
    )
    audit.record(session, caller, "conversation.taken_over", "conversation", conversation.id)
    events.emit(
        session,
        caller,
        ConversationTakenOver(
            conversation_id=conversation.id, channel=conversation.channel, staff_id=caller.staff_id
        ),
    )
    await session.flush()
    return conversation, note


async def hand_back(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID
) -> tuple[Conversation, StoredMessage | None]:
    conversation = await _locked(session, caller, conversation_id)
    if conversation.handler == "receptionist":
        return conversation, None
    conversation.handler, conversation.staff_id, conversation.taken_over_at = "receptionist", None, None
    note = await append(session, conversation, "system", "You're back with the virtual receptionist.")
    audit.record(session, caller, "conversation.handed_back", "conversation", conversation.id)
    events.emit(
        session, caller, ConversationHandedBack(conversation_id=conversation.id, channel=conversation.channel)
    )
    await session.flush()
    return conversation, note


async def reply(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, text: str, urgent: bool, now: datetime
) -> StaffReply:
    conversation = await _locked(session, caller, conversation_id)
    if conversation.handler != "staff":
        raise Conflict("take the conversation over before answering: the receptionist is answering it")
    text = text.strip()
    if not text:
        raise ValidationFailed("text", "the reply is empty")
    if len(text) > MAX_REPLY_CHARS:
        raise ValidationFailed("text", f"at most {MAX_REPLY_CHARS} characters")
    by_text = conversation.channel in ("sms", "voice")
    if by_text:
        segments = count_segments(text).segments
        if segments > MAX_REPLY_SEGMENTS:
            raise ValidationFailed(
                "text", f"this is {segments} text messages long; keep a reply to {MAX_REPLY_SEGMENTS} at most"
            )
        if not conversation.patient_phone:
            raise Conflict("this caller withheld their number: there is no way to text them")
    author = (caller.staff_name or "Staff").split()[0]
    message = await append(session, conversation, "staff", text, author=author)
    outbox_id = None
    if by_text:
        assert conversation.patient_phone is not None
        outbox_id = await outbox.enqueue(
            session,
            caller,
            outbox.NewMessage(
                kind="staff_reply",
                channel="sms",
                recipient=conversation.patient_phone,
                body=text,
                dedupe_key=f"staff_reply:{conversation.id}:{message.seq}",
                urgent=urgent,
                sender=conversation.practice_number,
            ),
            now,
        )
    audit.record(
        session, caller, "conversation.staff_replied", "conversation", conversation.id, {"seq": message.seq}
    )
    await session.flush()
    return StaffReply(conversation, message, outbox_id)
