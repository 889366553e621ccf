"""A call's transcript is what the caller heard: every line the receptionist stored is a line the
TwiML said, options included, and nothing said only to a screen (signed webhooks, the real app)."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from tests.support.db import rows
from tests.support.messaging import new_phone
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller


async def _transcript(db, sid: str) -> list[dict]:
    return await rows(
        db,
        "SELECT m.role, m.body, m.payload FROM conversation_messages m "
        "JOIN voice_calls v ON v.conversation_id = m.conversation_id WHERE v.call_sid = :s ORDER BY m.seq",
        s=sid,
    )


async def _said(db, sid: str) -> list[str]:
    turns = await rows(db, "SELECT twiml FROM voice_turns WHERE call_sid = :s ORDER BY step", s=sid)
    return [" ".join(say.text or "" for say in ElementTree.fromstring(t["twiml"]).iter("Say")) for t in turns]


async def test_the_transcript_holds_only_what_the_caller_heard(db, make_tenant, settings):
    tenant = await make_tenant(settings={"staff_phone": new_phone("617")})
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth))
        await call.dial()
        await call.say("I'd like a check-up tomorrow")
        offered = call.heard
        await call.say("I'd like to talk to a person")
        assert call.last.find("Dial") is not None and "put you through" in call.heard

    transcript = await _transcript(db, call.sid)
    said = await _said(db, call.sid)
    lines = [m for m in transcript if m["role"] == "assistant"]
    assert [m["body"] for m in lines] == said[1:], (transcript, said)
    # The options stored with a line are the ones read out, by the numbers they were read with.
    first = lines[0]["payload"]["quick_replies"]
    read = re.findall(r"[Oo]ption (\w+), ", offered)
    assert len(first) == len(read) and first[-1]["label"] == "More times"
    assert not any("Tap" in m["body"] or "AM" in m["body"] or "PM" in m["body"] for m in lines)
