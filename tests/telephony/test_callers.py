"""What a caller trips over: signed Twilio voice webhooks through the real app and database."""

from __future__ import annotations

import re

from tests.conftest import at, local_day
from tests.support.db import rows, scalar
from tests.support.messaging import book_at, new_phone
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller


async def held_times(db, tenant) -> list:
    found = await rows(
        db,
        "SELECT starts_at FROM holds WHERE tenant_id = :t AND status = 'active' ORDER BY starts_at",
        t=tenant.id,
    )
    return [r["starts_at"] for r in found]


async def test_a_known_caller_books_with_the_keypad_alone(db, tenant, settings):
    patient = new_phone()
    await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(9), "11:00"),
        at(local_day(0), "00:01"),
        phone=patient,
        name="Maria Lopez",
    )
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth), patient)
        await call.dial()
        assert "Welcome back, Maria" in call.heard and "Option one, book an appointment" in call.heard
        for _ in range(6):
            if "You're booked" in call.heard:
                break
            assert "Option one" in call.heard or "option one" in call.heard, call.heard
            await call.say(digits="1")
        assert "You're booked" in call.heard, call.heard
        assert "What name" not in " ".join(
            t["heard"]
            for t in await rows(db, "SELECT heard FROM voice_turns WHERE call_sid = :s", s=call.sid)
        )
    booked = await rows(
        db,
        "SELECT c.name FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE a.tenant_id = :t ORDER BY a.created_at",
        t=tenant.id,
    )
    assert [b["name"] for b in booked] == ["Maria Lopez", "Maria Lopez"]


async def test_only_options_read_out_can_be_chosen_and_repeat_is_not_a_miss(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth))
        await call.dial()
        await call.say("I'd like a check-up tomorrow afternoon")
        offered = call.heard
        assert "Option three" in offered or "option three" in offered
        assert "option four" not in offered.lower().replace("option four, more times", "")
        await call.say(digits="9")
        assert "there's no option nine" in call.heard and "option one" in call.heard.lower()
        await call.say("repeat")
        assert "Option four, more times" in call.heard
        await call.say(digits="*")
        assert "Option four, more times" in call.heard
        await call.say(digits="4")  # more times: the next ones, never read before
        assert "more times" in call.heard.lower() and await held_times(db, tenant) == []
        second = re.search(r"option two, ([a-z ]+ [ap]\.m\.)", call.heard).group(1)
        await call.say("2.")  # option two as read out: not two o'clock
        assert len(await held_times(db, tenant)) == 1 and f"at {second}" in call.heard
        assert "I'm holding" in call.heard
    [row] = await rows(db, "SELECT failures FROM voice_calls WHERE call_sid = :s", s=call.sid)
    assert row["failures"] == 0


async def test_hanging_up_releases_the_hold_and_a_call_back_picks_it_up(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        first = Caller(phones, practice, patient)
        await first.dial()
        await first.say("I'd like a check-up tomorrow afternoon")
        await first.say("number one")
        assert "I'm holding" in first.heard
        [held] = await held_times(db, tenant)
        assert (await first.hang_up()).status_code == 204
        assert await held_times(db, tenant) == []  # the time is free for anyone again

        again = Caller(phones, practice, patient)
        await again.dial()
        assert (
            "We were cut off while I was holding" in again.heard and "Shall I hold it again?" in again.heard
        )
        await again.say(digits="1")
        assert await held_times(db, tenant) == [held]
        assert "What name" in again.heard or "Shall I book it" in again.heard
    ends = await scalar(db, "SELECT end_reason FROM voice_calls WHERE call_sid = :s", s=first.sid)
    assert ends == "completed"


async def test_a_spelled_reference_is_understood_on_the_phone(db, tenant, settings):
    patient = new_phone()
    visit = await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(6), "11:00"),
        at(local_day(0), "00:01"),
        phone=new_phone(),
    )
    spelled = " ".join(visit.reference)
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth), patient)
        await call.dial()
        await call.say(f"I want to check my booking, the reference is {spelled}")
    understood = (await call.conversation_state(db))["reference"]
    assert understood == visit.reference
