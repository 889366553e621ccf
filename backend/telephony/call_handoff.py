"""A caller who asks to carry on in writing: a text with a link to the web chat, where the call left off.

The link never outlives what it continues: with a time held, the hold is renewed for a hold's
lifetime and the link ends with it (the call's end then leaves the hold to the link); without one,
the link lives its own lifetime. The text and the caller both hear until when, and what then.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.replies import Reply, time_label, when_label
from agent.state import ConversationState
from backend.conversations.handoff import HandoffLinks
from backend.conversations.turns import Responder
from backend.core import audit
from backend.core.context import Caller
from backend.core.db import Database
from backend.messaging import opt_outs, outbox
from backend.scheduling import guards, holds
from backend.telephony import call_records
from backend.telephony.models import VoiceCall


def text_me_a_link(
    db: Database, links: HandoffLinks, caller: Caller, row: VoiceCall, now: datetime
) -> Responder:
    """Answers "text me a link": an SMS with a link that carries the call on in the web chat."""

    async def send_link(state: ConversationState) -> list[Reply]:
        phone = call_records.real_phone(row.from_number)
        if phone is None:
            return [Reply("I can't send a text to a withheld number, sorry. How else can I help?")]
        assert row.conversation_id is not None
        conversation_id = row.conversation_id
        zone = caller.tenant.timezone_name
        if state.hold is not None:
            hold_id, owner = uuid.UUID(state.hold.id), f"conversation:{conversation_id}"
            # Renewed behind the booking gate, as every write to a hold is.
            renewed = await db.transaction(
                lambda session: holds.renew_hold(session, caller, hold_id, owner, now),
                isolation="SERIALIZABLE",
                gate=guards.writer_gate(caller.tenant.id),
            )
            state.hold = dataclasses.replace(state.hold, expires_at=renewed.expires_at) if renewed else None
        expires = links.expiry(now, state.hold.expires_at if state.hold else None)
        link = links.issue(caller.tenant.id, conversation_id, expires)
        until = time_label(expires, zone)
        if state.hold is not None:
            held = when_label(state.hold.starts_at, zone)
            then = (
                f"I'm holding {held} for you until {until}; the link and the hold end then. After that, "
                "call or text us to find a time again."
            )
        else:
            then = f"The link works until {until}; after that, call or text us for a new one."

        async def work(session: AsyncSession) -> bool:
            if await opt_outs.is_opted_out(session, caller.tenant.id, phone):
                return False
            await outbox.enqueue(
                session,
                caller,
                outbox.NewMessage(
                    kind="handoff_link",
                    channel="sms",
                    recipient=phone,
                    body=f"{caller.tenant.name}: continue our conversation here: {link} {then}",
                    dedupe_key=f"handoff_link:{row.call_sid}",
                    urgent=True,
                    sender=row.to_number,
                ),
                now,
            )
            audit.record(session, caller, "voice.handoff_link_sent", "conversation", conversation_id)
            return True

        if not await db.transaction(work):
            return [
                Reply(
                    "This number has opted out of our texts, so I can't send a link. Text START to this "
                    "number to opt back in. How else can I help?"
                )
            ]
        state.handed_off_until = expires
        return [
            Reply(
                f"I've sent you a text with a link to carry on in writing, where you left off. {then} "
                "Is there anything else I can help with on the phone?"
            )
        ]

    return send_link
