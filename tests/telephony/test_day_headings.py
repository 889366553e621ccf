"""A day named over a list of times names the day of every time under it, on the phone and by text:
times that span days, near midnight, in a clinic far from UTC (signed webhooks, the real app)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.messaging import new_phone
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPOKEN_DATE = re.compile(r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, [A-Z][a-z]+ \d{1,2}(?:st|nd|rd|th)?")


async def _late_clinic(make_tenant, zone: str):
    """Open only late in the evening, every day: the times nearest a late hour span three days."""
    hours = [{"weekday": day, "opens_at": "22:30", "closes_at": "23:59"} for day in WEEK]
    return await make_tenant(
        timezone=zone,
        providers=[{"name": "Dr. Late", "hours": hours}],
        services=[{"name": "Check-up", "duration_minutes": 30, "buffer_minutes": 0}],
    )


def _plain_date(said: str) -> str:
    return re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", said)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
async def test_each_time_read_out_is_under_its_own_day(db, make_tenant, settings, zone):
    tenant = await _late_clinic(make_tenant, zone)
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=4)
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth))
        await call.dial()
        await call.say(f"A check-up around 11 pm on {day:%A, %B} {day.day}")
        heard = call.heard
        labels = (await call.conversation_state(db))["choices"]
        times = [c for c in labels if c["starts_at"]]
        assert len({c["label"][:10] for c in times}) > 1, heard  # the times read span days
        for number, choice in enumerate(times, start=1):
            said = heard[: heard.index(f"ption {_words(number)},")]
            named = SPOKEN_DATE.findall(said[said.rfind("On ") :] if "On " in said else said)
            local = datetime.fromisoformat(choice["starts_at"]).astimezone(ZoneInfo(zone))
            assert named, heard
            assert _plain_date(named[-1]) == f"{local:%A, %B} {local.day}", (number, heard)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
async def test_a_text_names_one_day_only_over_times_all_on_it(db, make_tenant, settings, zone):
    tenant = await _late_clinic(make_tenant, zone)
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=4)
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        text = await phones.say(new_phone(), practice, f"A check-up around 11 pm on {day:%A, %B} {day.day}")
    options = re.findall(r"^\d\) (\w{3}), (\w{3}) (\d{1,2}) at", text, re.M)
    assert len(set(options)) > 1, text  # the times listed span days
    heading = re.search(
        r"closest to [^.]* on (\w+day), (\w+) (\d{1,2})(?P<around> and the days around it)?", text
    )
    assert heading is not None, text
    if heading["around"] is None:
        assert all(o == (heading[1][:3], heading[2][:3], heading[3]) for o in options), text
    else:
        assert any(o == (heading[1][:3], heading[2][:3], heading[3]) for o in options), text


def _words(number: int) -> str:
    return ("one", "two", "three", "four", "five", "six")[number - 1]
