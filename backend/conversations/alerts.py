"""Telling the clinic at once when triage flags a conversation: an emergency, or an urgent dental
problem, on any channel.

Once per conversation and band (an emergency after an urgent problem is news; the same band again
is not, so a patient who keeps writing does not set off a storm): the conversation is flagged for
the inbox, a `conversation.emergency` or `conversation.urgent` event goes to the clinic's systems,
the on-call number is texted and the alert address and owners are e-mailed through the outbox,
marked urgent so quiet hours do not hold them back (the insert nudges the worker, so they leave
within seconds), and the alert is audited — all in one transaction, none of it with the patient's
words. After the commit the clinic's open inboxes hear it at once, and the patient is told whether
anyone is there to see it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.safety import ClinicAlerted
from backend.conversations.live import Live
from backend.conversations.models import Conversation
from backend.core import audit, events
from backend.core.context import Caller, TenantContext
from backend.core.errors import Conflict, NotFound
from backend.core.event_catalogue import ConversationEmergency, ConversationUrgent
from backend.messaging import outbox
from backend.tenants import staff

KIND = "triage_alert"
CHANNEL_NAMES = {"web": "web chat", "sms": "text conversation", "voice": "phone call"}
WHAT = {"emergency": "possible emergency", "urgent": "urgent dental problem"}
DONE_FOR_PATIENT = {
    "emergency": "The patient was told to call the emergency number now.",
    "urgent": "The patient was offered the earliest free time today, or a person.",
}


@dataclass(frozen=True)
class Flagged:
    conversation_id: uuid.UUID
    channel: str
    band: str
    category: str
    at: datetime

    def live(self) -> dict[str, str]:
        """The alert as the clinic's open inboxes receive it (no words of the patient's)."""
        return {
            "conversation_id": str(self.conversation_id),
            "channel": self.channel,
            "band": self.band,
            "category": self.category,
            "at": self.at.isoformat(),
        }


async def flag(
    session: AsyncSession,
    caller: Caller,
    conversation_id: uuid.UUID,
    band: str,
    category: str,
    now: datetime,
    inbox_url: str,
) -> Flagged | None:
    """Flag the conversation and tell the clinic, unless it already knows (None then)."""
    conversations = Conversation.__table__.c
    news = (
        conversations.triage_band.is_distinct_from("emergency")
        if band == "emergency"
        else conversations.triage_band.is_(None)
    )
    raised = await session.execute(
        update(Conversation.__table__)
        .where(conversations.id == conversation_id, conversations.tenant_id == caller.tenant.id, news)
        .values(
            triage_band=band,
            triage_category=category,
            triage_at=now,
            triage_acknowledged_at=None,
            triage_acknowledged_by=None,
        )
        .returning(conversations.channel)
    )
    channel = raised.scalar_one_or_none()
    if channel is None:
        return None
    flagged = Flagged(conversation_id, channel, band, category, now)
    event = ConversationEmergency if band == "emergency" else ConversationUrgent
    events.emit(session, caller, event(conversation_id=conversation_id, channel=channel, category=category))
    told = await _tell_staff(session, caller, flagged, f"{inbox_url}?open={conversation_id}")
    audit.record(
        session,
        caller,
        f"conversation.{band}_alert",
        "conversation",
        conversation_id,
        {"category": category, "channel": channel, "on_call_texted": told[0], "emails": told[1]},
    )
    return flagged


async def _tell_staff(session: AsyncSession, caller: Caller, flagged: Flagged, link: str) -> tuple[bool, int]:
    """The on-call text and the e-mails, urgent; (texted, e-mails queued)."""
    tenant = caller.tenant
    where = CHANNEL_NAMES.get(flagged.channel, "conversation")
    what = WHAT[flagged.band]
    category = flagged.category.replace("_", " ")
    key = f"{KIND}:{flagged.conversation_id}:{flagged.band}"
    on_call = tenant.settings.on_call_phone
    if on_call is not None:
        headline = "EMERGENCY" if flagged.band == "emergency" else "Urgent dental problem"
        text = f"{tenant.name}: {headline} ({category}) flagged in a {where}. Open it: {link}"
        sms = outbox.NewMessage(
            kind=KIND, channel="sms", recipient=on_call, body=text, dedupe_key=f"{key}:sms", urgent=True
        )
        await outbox.enqueue(session, caller, sms, flagged.at)
    recipients = await staff.alert_recipients(session, tenant)
    for recipient in recipients:
        body = (
            f"Frontdesk's triage recognised a {what} ({category}) in a {where} at "
            f"{_local(tenant, flagged.at)}. {DONE_FOR_PATIENT[flagged.band]}\n\n"
            f"The conversation is flagged at the top of the inbox: {link}\n\n"
            "The patient's words are not in this e-mail; read them in the workspace."
        )
        mail = outbox.NewMessage(
            kind=KIND,
            channel="email",
            recipient=recipient,
            subject=f"{tenant.name}: {what} flagged in a {where}",
            body=body,
            dedupe_key=f"{key}:email:{recipient}",
            urgent=True,
        )
        await outbox.enqueue(session, caller, mail, flagged.at)
    return on_call is not None, len(recipients)


def _local(tenant: TenantContext, moment: datetime) -> str:
    local = moment.astimezone(tenant.timezone)
    return f"{local:%H:%M} on {local:%A} {local.day} {local:%B}"


class ClinicAlarm:
    """After an alert commits: the clinic's open inboxes hear it, and the patient learns whether
    anyone is there to see it."""

    def __init__(self, live: Live, public_base_url: str) -> None:
        self.live = live
        self.inbox_url = public_base_url.rstrip("/") + "/app/inbox"

    async def announce(self, tenant: TenantContext, flagged: Flagged | None) -> ClinicAlerted:
        if flagged is not None:
            await self.live.to_staff(tenant.id, "conversation.alert", flagged.live())
        return ClinicAlerted(
            staff_online=await self.live.staff_online(tenant.id),
            on_call_texted=tenant.settings.on_call_phone is not None,
        )


async def acknowledge_alert(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, now: datetime
) -> Conversation:
    """A member of staff has seen the alert: it leaves the top of the inbox (the flag stays)."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, Conversation.tenant_id == caller.tenant.id)
        .with_for_update()
    )
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    if conversation.triage_band is None:
        raise Conflict("this conversation has no alert to acknowledge")
    acknowledge(session, caller, conversation, now)
    return conversation


def acknowledge(session: AsyncSession, caller: Caller, conversation: Conversation, now: datetime) -> None:
    """Mark an open alert of `conversation` (locked by the caller) as seen; nothing if there is none."""
    if conversation.triage_band is None or conversation.triage_acknowledged_at is not None:
        return
    conversation.triage_acknowledged_at = now
    conversation.triage_acknowledged_by = caller.staff_id
    audit.record(
        session,
        caller,
        "conversation.alert_acknowledged",
        "conversation",
        conversation.id,
        {"band": conversation.triage_band, "category": conversation.triage_category},
    )
