"""Phone calls: Twilio's signed voice webhooks through the real app and database, answered with TwiML."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import httpx

from backend.app import create_app
from tests.support.db import rows, scalar
from tests.support.messaging import new_phone
from tests.support.phone import PUBLIC, Phones, new_sid, phone_lines, signed


class Caller:
    """One phone call: posts each step the way Twilio does, and reads the TwiML back."""

    def __init__(self, phones: Phones, practice: str, caller: str | None = None) -> None:
        self.phones = phones
        self.sid = new_sid("CA")
        self.practice = practice
        self.number = caller or new_phone()
        self.step = 0
        self.last = ElementTree.Element("Response")

    async def conversation_state(self, db) -> dict:
        """The state of the conversation this call feeds (what was understood, the choices read out)."""
        return await scalar(
            db,
            "SELECT c.state FROM voice_calls v JOIN conversations c ON c.id = v.conversation_id "
            "WHERE v.call_sid = :s",
            s=self.sid,
        )

    def _params(self, **extra: str) -> dict[str, str]:
        return {"CallSid": self.sid, "From": self.number, "To": self.practice, "AccountSid": "AC1", **extra}

    async def dial(self) -> ElementTree.Element:
        return await self._post("/twilio/voice", self._params(CallStatus="ringing"))

    async def say(self, speech: str = "", digits: str = "", step: int | None = None) -> ElementTree.Element:
        self.step = step if step is not None else self.step + 1
        extra = {"SpeechResult": speech, "Confidence": "0.9"} if speech else {}
        if digits:
            extra = {"Digits": digits}
        return await self._post(f"/twilio/voice/turn?step={self.step}", self._params(**extra))

    async def hang_up(self) -> httpx.Response:
        path = "/twilio/voice/status"
        params = self._params(CallStatus="completed", CallDuration="42")
        return await self.phones.web.post(path, data=params, headers=signed(path, params))

    async def _post(self, path: str, params: dict[str, str]) -> ElementTree.Element:
        response = await self.phones.web.post(path, data=params, headers=signed(path, params))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        self.last = ElementTree.fromstring(response.text)
        return self.last

    @property
    def heard(self) -> str:
        """Everything the caller hears in the last answer."""
        return " ".join(say.text or "" for say in self.last.iter("Say"))

    @property
    def gather(self) -> ElementTree.Element | None:
        return self.last.find("Gather")


async def test_a_caller_books_by_voice_and_a_restart_mid_call_loses_nothing(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        call = Caller(phones, practice)
        await call.dial()
        gather = call.gather
        assert gather is not None and "Thanks for calling Test Clinic" in call.heard
        assert gather.attrib["input"] == "speech dtmf" and gather.attrib["actionOnEmptyResult"] == "true"
        assert gather.attrib["action"] == f"{PUBLIC}/twilio/voice/turn?step=1"
        assert "Check-up" in gather.attrib["hints"]

        await call.say("I'd like a check-up tomorrow afternoon")
        # Written for the ear: spoken times, keypad digits, no chips, no "PM".
        assert "Here are the first free times" in call.heard and "For tomorrow" not in call.heard
        # Each option once, by number; the day said once for the times on it.
        assert re.search(r"Option one, [a-z ]+ p\.m\.; option two, [a-z ]+ p\.m\.", call.heard), call.heard
        assert "Option four, more times" in call.heard and "say repeat, or press star" in call.heard
        assert "PM" not in call.heard and "press 1" not in call.heard
        first_time = re.search(r"Option one, (.+?);", call.heard).group(1)
        repeated = call.last
        assert ElementTree.tostring(await call.say("I'd like a check-up tomorrow afternoon", step=1)) == (
            ElementTree.tostring(repeated)
        )  # a retried step gets the same answer and runs nothing twice

        await call.say(digits="1")
        assert re.search(rf"I'm holding \w+day, \w+ \w+ at {first_time}", call.heard)
        assert "What name" in call.heard
        assert call.gather.attrib["action"].endswith("step=3")

    # The server restarts: a new app, a new connection pool, nothing kept in memory.
    async with phone_lines(db, settings) as restarted:
        call.phones = restarted
        await call.say("Jane Doe")
        assert "Shall I book it?" in call.heard and "Jane Doe" in call.heard
        await call.say("yes please")
        assert "You're booked!" in call.heard
        reference = await scalar(db, "SELECT reference FROM appointments WHERE tenant_id = :t", t=tenant.id)
        assert f"reference is {', '.join(reference)}" in call.heard  # spelled out, character by character
        await call.say("no that's all")
        assert call.last.find("Hangup") is not None and "Goodbye" in call.heard
        assert (await call.hang_up()).status_code == 204

    [appointment] = await rows(
        db,
        "SELECT c.phone, c.name FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE a.tenant_id = :t",
        t=tenant.id,
    )
    assert appointment == {"phone": call.number, "name": "Jane Doe"}
    [row] = await rows(db, "SELECT status, step, end_reason FROM voice_calls WHERE call_sid = :s", s=call.sid)
    assert row == {"status": "ended", "step": 5, "end_reason": "caller_done"}
    heard = await rows(
        db, "SELECT step, heard FROM voice_turns WHERE call_sid = :s ORDER BY step", s=call.sid
    )
    assert [h["step"] for h in heard] == [0, 1, 2, 3, 4, 5] and heard[2]["heard"] == "1"


async def test_silence_twice_offers_the_keypad_and_three_failures_transfer_to_staff(
    db, make_tenant, settings
):
    staffed = await make_tenant(
        settings={"min_lead_minutes": 0, "max_days_ahead": 400, "staff_phone": "+16175550199"}
    )
    unstaffed = await make_tenant()
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(staffed.auth))
        await call.dial()
        await call.say()
        assert "didn't hear anything" in call.heard and "How can I help?" in call.heard
        await call.say()
        assert "use your keypad" in call.heard and "Option one, book an appointment." in call.heard
        await call.say()
        assert call.last.findtext("Dial") == "+16175550199" and "put you through" in call.heard

        keyed = Caller(phones, await phones.add_number(unstaffed.auth))
        await keyed.dial()
        await keyed.say()
        await keyed.say()
        await keyed.say(digits="1")  # the keypad menu: 1 is "Book an appointment"
        assert "Which service would you like to book?" in keyed.heard
        for _ in range(3):
            await keyed.say("purple elephants")
        assert keyed.last.find("Hangup") is not None and keyed.last.find("Dial") is None
        assert "couldn't help you by phone" in keyed.heard
    ends = await rows(
        db, "SELECT call_sid, end_reason FROM voice_calls WHERE call_sid IN (:a, :b)", a=call.sid, b=keyed.sid
    )
    assert {r["call_sid"]: r["end_reason"] for r in ends} == {call.sid: "transferred", keyed.sid: "gave_up"}


async def test_calls_beyond_the_tenants_limit_hear_a_busy_message(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        limited = await phones.web.patch(
            "/api/v1/tenant/settings", headers=tenant.auth, json={"settings": {"max_concurrent_calls": 1}}
        )
        assert limited.status_code == 200, limited.text
        first, second, third = (Caller(phones, practice) for _ in range(3))
        await first.dial()
        assert first.gather is not None
        await second.dial()
        assert "All our lines are busy" in second.heard and second.last.find("Hangup") is not None
        await second.dial()  # Twilio retrying the rejected call's webhook gets the same answer
        assert "All our lines are busy" in second.heard
        assert (await first.hang_up()).status_code == 204
        await third.dial()
        assert third.gather is not None and "Thanks for calling" in third.heard
        # A turn of the rejected call ends it politely; it never reaches the agent.
        await second.say("hello?")
        assert "this call has ended" in second.heard
    statuses = await rows(
        db,
        "SELECT call_sid, status FROM voice_calls WHERE call_sid IN (:a, :b, :c)",
        a=first.sid,
        b=second.sid,
        c=third.sid,
    )
    assert {r["call_sid"]: r["status"] for r in statuses} == {
        first.sid: "ended",
        second.sid: "rejected",
        third.sid: "active",
    }


async def test_unknown_numbers_forged_calls_and_the_production_guard(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        await phones.add_number(tenant.auth)
        stranger = Caller(phones, new_phone("646"))
        await stranger.dial()
        assert (
            "not set up with our receptionist" in stranger.heard and stranger.last.find("Hangup") is not None
        )
        params = {"CallSid": new_sid("CA"), "From": new_phone(), "To": stranger.practice}
        forged = await phones.web.post(
            "/twilio/voice", data=params, headers=signed("/twilio/voice", params, "x")
        )
        assert forged.status_code == 403
    assert await scalar(db, "SELECT count(*) FROM voice_calls WHERE to_number = :n", n=stranger.practice) == 0
    assert await scalar(db, "SELECT count(*) FROM audit_log WHERE action = 'voice.unknown_number'") >= 1

    # Development may switch signatures off; then unsigned webhooks are accepted.
    unchecked = settings.model_copy(update={"twilio_verify_signatures": False})
    app = create_app(unchecked)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dev") as dev:
        response = await dev.post(
            "/twilio/voice", data={"CallSid": new_sid("CA"), "From": new_phone(), "To": new_phone("646")}
        )
        assert response.status_code == 200
    await app.state.db.dispose()
    await app.state.redis.aclose()
