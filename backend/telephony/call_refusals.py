"""Calls the receptionist does not take: every line busy, or the clinic has switched voice off.
The caller is put through to the clinic's staff number where there is one, else told how else to
reach the clinic; either way the call is recorded as rejected, with why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.telephony import call_records
from backend.telephony.call_records import Call
from channels import voice
from policy import triage

# What the caller hears first, by why the call is not taken.
REASONS = {
    "busy": "All our lines are busy right now.",
    "switched_off": "Our automated receptionist is not taking calls at the moment.",
}
THROUGH = "Let me put you through to the team."
LATER = {
    "busy": "Please call again in a few minutes, or send us a text at this number. Goodbye.",
    "switched_off": "Please call again during opening hours, or contact the clinic another way. Goodbye.",
}


async def refuse(
    session: AsyncSession, call: Call, tenant: TenantContext, why: str, now: datetime, language: str
) -> str:
    """The TwiML that answers a call not taken, recorded as the call's only step."""
    staff = tenant.settings.staff_phone
    opening = f"Thanks for calling {tenant.name}. {REASONS[why]}"
    if staff:  # the caller reaches the team rather than being hung up on
        twiml = voice.transfer(f"{opening} {THROUGH}", staff, language)
    else:
        # Nobody to put them through to: a caller in danger must still hear where help is.
        danger = f"If this is an emergency, hang up and call {_emergency_number(tenant)}."
        twiml = voice.goodbye(f"{opening} {danger} {LATER[why]}", language)
    end_reason = "overflow" if why == "busy" and staff else why
    call_records.new_call(session, call, tenant, None, "rejected", now, end_reason=end_reason)
    await session.flush()
    call_records.store_turn(session, call.sid, 0, "", twiml)
    return twiml


def _emergency_number(tenant: TenantContext) -> str:
    return triage.spoken_number(triage.emergency_number(tenant.settings.default_country))
