"""The voice-to-web link never outlives what it continues: with a time held it ends with the hold
(renewed for a hold's lifetime when the link is sent), the caller and the text both say until when
and what then, and hanging up leaves the hold to the link (signed webhooks, the real app)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

from tests.support.db import rows
from tests.support.messaging import new_phone
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller


def _link_expiry(body: str) -> datetime:
    token = re.search(r"/h/hf_([\w-]+)\.", body).group(1)
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return datetime.fromtimestamp(payload["e"], UTC)


async def _handoff_text(db, phone: str) -> str:
    [text] = await rows(
        db, "SELECT body FROM notification_outbox WHERE kind = 'handoff_link' AND recipient = :r", r=phone
    )
    return text["body"]


async def test_the_link_ends_with_the_hold_it_continues(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth), new_phone())
        await call.dial()
        await call.say("I'd like a check-up tomorrow afternoon")
        await call.say(digits="1")
        assert "I'm holding" in call.heard
        asked = datetime.now(UTC)
        await call.say("Can you text me a link?")
        heard = call.heard
        assert "I've sent you a text" in heard and "the link and the hold end then" in heard, heard
        assert "call or text us to find a time again" in heard, heard

        body = await _handoff_text(db, call.number)
        [hold] = await rows(
            db, "SELECT expires_at, status FROM holds WHERE tenant_id = :t AND status = 'active'", t=tenant.id
        )
        # Renewed for a hold's lifetime (5 minutes here), and the link ends with it, not 15 minutes on.
        assert abs(_link_expiry(body) - hold["expires_at"]) < timedelta(seconds=1), body
        assert asked + timedelta(minutes=4) < hold["expires_at"] <= datetime.now(UTC) + timedelta(minutes=5)
        assert "the link and the hold end then" in body and "call or text us" in body, body

        # Carrying on in writing: hanging up leaves the time held for the link.
        assert (await call.hang_up()).status_code == 204
        [still] = await rows(db, "SELECT status FROM holds WHERE tenant_id = :t", t=tenant.id)
        assert still["status"] == "active"


async def test_without_a_hold_the_link_says_until_when_it_works(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth), new_phone())
        await call.dial()
        asked = datetime.now(UTC)
        await call.say("Can you text me a link please")
        assert "The link works until" in call.heard and "call or text us for a new one" in call.heard
        body = await _handoff_text(db, call.number)
    expires = _link_expiry(body)
    assert asked + timedelta(minutes=14) < expires <= datetime.now(UTC) + timedelta(minutes=15)
