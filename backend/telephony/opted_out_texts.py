"""Texts the receptionist may not answer: a carrier opt-out word from a patient with a visit booked,
and anything from a number that has opted out.

Carriers (and Twilio, at their level) treat STOP, CANCEL, END... as an unsubscribe, so we must too:
the number is opted out whatever the patient meant. But "Cancel" from someone with a visit booked
very likely meant the visit: the one text we may still send (the opt-out confirmation) says how to
cancel it by phone, and the text goes to the staff inbox. A text from an opted-out number reaches
no agent, but it reaches the clinic's inbox, so no one's words are lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.replies import when_label
from backend.conversations import service as conversations
from backend.core.context import Caller, TenantContext
from backend.scheduling import appointment_lists, availability
from backend.telephony.models import InboundSms

# Opt-out words a patient with a visit may mean as "cancel my visit".
VISIT_WORDS = frozenset({"CANCEL", "END", "QUIT"})


async def visit_note(session: AsyncSession, tenant: TenantContext, row: InboundSms, now: datetime) -> str:
    """What the opt-out confirmation adds for a patient whose next visit is still booked: that it
    stands, and how to cancel it (a call to the number they texted, where the receptionist knows
    them by their number); "" with no visit ahead."""
    found, _ = await appointment_lists.list_appointments(
        session,
        tenant,
        start=now,
        end=None,
        statuses=sorted(availability.OCCUPYING),
        customer_id=None,
        phone=row.from_number,
        email=None,
        limit=1,
        cursor=None,
    )
    if not found:
        return ""
    visit = found[0]
    when = when_label(visit.starts_at, tenant.timezone_name)
    return f" Your {visit.service.name} on {when} is still booked. To cancel it, call us at {row.to_number}."


async def to_inbox(session: AsyncSession, caller: Caller, row: InboundSms, reason: str) -> None:
    """The text, in the patient's SMS thread, flagged for a member of staff."""
    thread = await conversations.phone_thread(session, caller.tenant, "sms", row.to_number, row.from_number)
    row.conversation_id = thread.id
    await conversations.append(session, thread, "patient", row.body)
    if thread.status != "needs_human":  # the reason once, not under every text that follows
        await conversations.append(session, thread, "system", reason)
    await conversations.flag_for_human(session, caller, thread.id, reason)
