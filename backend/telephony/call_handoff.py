"""A caller who asks to carry on in writing: a text with a link to the web chat, where the call left off."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.replies import Reply
from agent.state import ConversationState
from backend.conversations.handoff import HandoffLinks
from backend.conversations.turns import Responder
from backend.core import audit
from backend.core.context import Caller
from backend.core.db import Database
from backend.messaging import opt_outs, outbox
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
        link = links.issue(caller.tenant.id, row.conversation_id, now)

        async def work(session: AsyncSession) -> bool:
            if await opt_outs.is_opted_out(session, caller.tenant.id, phone):
                return False
            minutes = int(links.lifetime.total_seconds() // 60)
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

        if not await db.transaction(work):
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
