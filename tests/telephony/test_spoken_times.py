"""The times read out on a call are the ones nearest the time the caller asked for (signed webhooks,
the real app): a caller who asks for 3 p.m. hears the times around it, not the earliest shown."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.conftest import weekday_ahead
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller

NY = ZoneInfo("America/New_York")


async def test_a_caller_asking_for_three_hears_the_times_around_three(db, make_tenant, settings):
    hours = [
        {"weekday": d, "opens_at": "09:00", "closes_at": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")
    ]
    tenant = await make_tenant(
        providers=[{"name": "Dr. Adams", "hours": hours}],
        services=[{"name": "Check-up", "duration_minutes": 30, "buffer_minutes": 0}],
    )
    day = weekday_ahead(8)
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth))
        await call.dial()
        await call.say(f"A check-up around 3 pm on {day:%A, %B} {day.day}")
        choices = (await call.conversation_state(db))["choices"]
    read = [datetime.fromisoformat(c["starts_at"]).astimezone(NY) for c in choices if c["starts_at"]]
    # Four times were offered around 3 (2:00 to 3:30); the three nearest are read, in time order.
    assert [f"{t:%H:%M}" for t in read] == ["14:30", "15:00", "15:30"], call.heard
    assert "Option one, two thirty p.m." in call.heard and "two p.m." not in call.heard, call.heard
