"""Days said on a weekend, at a clinic closed at weekends: the scripted corpus runs on whatever day
the suite does, so these pin today to a Saturday. The real turn pipeline and database."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import at, local_day
from tests.support.chat import open_chat

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def saturday_ahead() -> date:
    """A Saturday at least a week ahead (the clinic's times are all in the future)."""
    day = local_day(7)
    return day + timedelta(days=(5 - day.weekday()) % 7)


async def weekday_clinic(make_tenant):
    hours = [{"weekday": day, "opens_at": "09:00", "closes_at": "17:00"} for day in WEEKDAYS]
    return await make_tenant(
        providers=[{"name": "Dr. Adams", "hours": hours}],
        services=[{"name": "Check-up", "duration_minutes": 30, "buffer_minutes": 0}],
    )


async def test_a_closed_day_asked_on_the_day_before_is_said_before_another_day_is_offered(db, make_tenant):
    tenant = await weekday_clinic(make_tenant)
    saturday = saturday_ahead()
    chat = await open_chat(db, tenant.id, at(saturday, "09:00"))

    reply = await chat.say("next sunday at 10 for a check-up?")

    # Monday at 10 is free, but the patient asked for Sunday: told first, then offered Monday.
    assert "closed on Sundays" in reply and "Monday" in reply, reply
    assert "I'm holding" not in reply, reply
    held = await chat.say("Monday at 10 works")
    assert "I'm holding" in held and "Mon" in held and "10:00 AM" in held, held


async def test_the_first_free_time_on_a_closed_day_is_offered_not_taken(db, make_tenant):
    tenant = await weekday_clinic(make_tenant)
    chat = await open_chat(db, tenant.id, at(saturday_ahead(), "09:00"))

    reply = await chat.say("check-up, your first sunday morning slot")

    assert "closed on Sundays" in reply and "I'm holding" not in reply, reply
    assert chat.time_chips, reply


async def test_later_in_the_week_on_a_saturday_looks_after_the_days_shown(db, make_tenant):
    tenant = await weekday_clinic(make_tenant)
    saturday = saturday_ahead()
    chat = await open_chat(db, tenant.id, at(saturday, "09:00"))

    shown = await chat.say("check-up on Thursday")
    assert "Thursday" in shown, shown
    later = await chat.say("anything later in the week?")

    # The week of the Thursday shown (its Friday), not what is left of today's (Sunday, closed).
    friday = saturday + timedelta(days=6)
    assert "Friday" in later and "closed" not in later, later
    assert all(chip["label"].startswith("Fri") for chip in chat.time_chips), chat.time_chips
    assert chat.time_chips and friday.day == int(chat.time_chips[0]["label"].split()[2]), chat.time_chips
