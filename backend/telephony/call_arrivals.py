"""A call arriving: the greeting (where a dropped call left off, or a new conversation, with the
menu as the clinic's switches allow), and the answer when every line the clinic allows is taken."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agent.dialogue import menu_for
from agent.state import Choice, ConversationState
from backend.conversations import service as conversations
from backend.core.context import TenantContext
from backend.customers import service as customers
from backend.telephony import call_ends, call_records, call_refusals
from channels import voice
from channels.voice import GatherSpec
from policy import replies as reply_rules


class LinesBusy(Exception):
    """Every line the tenant allows is taken: the call is turned away."""

    def __init__(self, tenant: TenantContext) -> None:
        self.tenant = tenant


async def greet(
    session: AsyncSession, tenant: TenantContext, call: call_records.Call, now: datetime, gather: GatherSpec
) -> str:
    """The greeting, and the call's row and first step: where a dropped call left off, or a new
    conversation whose menu can be pressed from the first word on."""
    resumed = None
    if call.caller_phone is not None:
        resumed = await call_ends.resumable(session, tenant, call.caller_phone, now)
    if resumed is not None:  # rung back after a dropped call: where it was
        conversation_id, pick_up = resumed
        greeting = f"Thanks for calling {tenant.name} again. {pick_up}"
        greeting += " " + voice.options_prompt(("Yes", "No"))
    else:
        thread = await conversations.phone_thread(
            session, tenant, "voice", call.practice_number, call.caller_phone or call.caller_number
        )
        state = ConversationState()
        if call.caller_phone is not None:  # a withheld number is no identity: asked as on the web
            state.phone = call.caller_phone
            state.name = await customers.name_on_file(session, tenant, call.caller_phone)
        menu = menu_for(tenant.switches)
        state.choices = [Choice(label=q.label, value=q.value) for q in menu]
        thread.state = state.model_dump(mode="json")
        conversation_id = thread.id
        welcome = f" Welcome back, {state.name.split()[0]}." if state.name else ""
        greeting = reply_rules.voice_greeting(tenant.name, tenant.switches) + welcome
        greeting += " " + voice.options_prompt(tuple(q.label for q in menu))
    twiml = voice.ask(greeting, gather)
    call_records.new_call(session, call, tenant, conversation_id, "active", now, last_prompt=greeting)
    await session.flush()
    call_records.store_turn(session, call.sid, 0, "", twiml)
    await session.flush()
    return twiml


async def turn_away(
    session: AsyncSession, tenant: TenantContext, call: call_records.Call, now: datetime, language: str
) -> str:
    """Every line is busy: overflow to the team rather than hanging up, when there is a team number."""
    stored = await call_records.stored_answer(session, call.sid, 0)
    if stored is not None:
        return stored
    return await call_refusals.refuse(session, call, tenant, "busy", now, language)
