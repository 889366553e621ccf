"""Slot arithmetic in America/New_York, including both DST transitions."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.scheduling.slots import BookingRules, OpenHours, free_slots, why_not_bookable

NY = ZoneInfo("America/New_York")
SPRING_FORWARD = date(2027, 3, 14)  # 02:00 -> 03:00
FALL_BACK = date(2027, 11, 7)  # 02:00 -> 01:00


def rules(
    duration=30, buffer=0, step=30, earliest=datetime(2000, 1, 1, tzinfo=UTC), last_day=date(2100, 1, 1)
):
    return BookingRules(
        duration=timedelta(minutes=duration),
        buffer=timedelta(minutes=buffer),
        step=timedelta(minutes=step),
        earliest_start=earliest,
        last_day=last_day,
    )


def hours(day, opens, closes):
    return [OpenHours(day.weekday(), time.fromisoformat(opens), time.fromisoformat(closes))]


def local(slots):
    return [s.astimezone(NY).strftime("%H:%M %Z") for s in slots]


def test_spring_forward_skips_the_missing_hour():
    slots = free_slots([SPRING_FORWARD], hours(SPRING_FORWARD, "01:00", "04:00"), NY, rules(), [], [])
    assert local(slots) == ["01:00 EST", "01:30 EST", "03:00 EDT", "03:30 EDT"]
    # 01:30 EST + 30 real minutes is 03:00 EDT: a visit lasts its real duration across the jump
    assert slots[2] - slots[1] == timedelta(minutes=30)


def test_fall_back_offers_the_repeated_hour_once():
    slots = free_slots([FALL_BACK], hours(FALL_BACK, "00:30", "03:00"), NY, rules(), [], [])
    assert local(slots) == ["00:30 EDT", "01:00 EDT", "01:30 EDT", "02:00 EST", "02:30 EST"]
    assert len(set(slots)) == len(slots)


def test_business_hours_keep_their_wall_clock_time_across_dst():
    before, after = date(2027, 3, 12), date(2027, 3, 15)
    week = [OpenHours(d.weekday(), time(9), time(17)) for d in (before, after)]
    first_before = free_slots([before], week, NY, rules(), [], [])[0]
    first_after = free_slots([after], week, NY, rules(), [], [])[0]
    assert first_before == datetime(2027, 3, 12, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert first_after == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)  # 09:00 EDT


def test_visit_must_end_by_closing_time():
    day = date(2027, 1, 4)
    slots = free_slots([day], hours(day, "09:00", "10:00"), NY, rules(duration=45, step=15), [], [])
    assert local(slots) == ["09:00 EST", "09:15 EST"]


def test_buffer_after_a_visit_blocks_the_next_start():
    day = date(2027, 1, 4)
    taken = (datetime(2027, 1, 4, 14, 0, tzinfo=UTC), datetime(2027, 1, 4, 14, 45, tzinfo=UTC))  # 09:00-09:45
    slots = free_slots(
        [day], hours(day, "09:00", "11:00"), NY, rules(duration=30, buffer=15, step=15), [taken], []
    )
    # the taken visit plus its 15-minute buffer occupies 09:00-09:45; nothing may start inside it
    assert local(slots)[0] == "09:45 EST"
    assert "09:30 EST" not in local(slots)


def test_closures_lead_time_and_last_day():
    day = date(2027, 1, 4)
    closure = (
        datetime(2027, 1, 4, 15, 0, tzinfo=UTC),
        datetime(2027, 1, 4, 16, 0, tzinfo=UTC),
    )  # 10:00-11:00
    earliest = datetime(2027, 1, 4, 14, 30, tzinfo=UTC)  # 09:30
    slots = free_slots([day], hours(day, "09:00", "12:00"), NY, rules(earliest=earliest), [], [closure])
    assert local(slots) == ["09:30 EST", "11:00 EST", "11:30 EST"]
    assert free_slots([day], hours(day, "09:00", "12:00"), NY, rules(last_day=date(2027, 1, 3)), [], []) == []


def test_why_not_bookable_explains():
    day = date(2027, 1, 4)
    open_hours = hours(day, "09:00", "12:00")
    r = rules(earliest=datetime(2027, 1, 4, 14, 0, tzinfo=UTC), last_day=date(2027, 1, 10))
    assert why_not_bookable(datetime(2027, 1, 4, 15, 0, tzinfo=UTC), open_hours, NY, r, []) is None
    off_grid = why_not_bookable(datetime(2027, 1, 4, 15, 5, tzinfo=UTC), open_hours, NY, r, [])
    assert "not a bookable start time" in off_grid and "10:00 and 10:30" in off_grid
    assert "outside opening hours" in why_not_bookable(
        datetime(2027, 1, 4, 19, 0, tzinfo=UTC), open_hours, NY, r, []
    )
    assert "too soon" in why_not_bookable(datetime(2027, 1, 4, 13, 0, tzinfo=UTC), open_hours, NY, r, [])
    assert "too far" in why_not_bookable(datetime(2027, 1, 11, 15, 0, tzinfo=UTC), open_hours, NY, r, [])
    closed = [(datetime(2027, 1, 4, 15, 0, tzinfo=UTC), datetime(2027, 1, 4, 16, 0, tzinfo=UTC))]
    assert "closed" in why_not_bookable(datetime(2027, 1, 4, 15, 30, tzinfo=UTC), open_hours, NY, r, closed)


def test_wall_clock_before_keeps_the_local_time_across_dst():
    from backend.scheduling.slots import wall_clock_before

    ny = ZoneInfo("America/New_York")
    visit = datetime(2027, 3, 15, 10, 0, tzinfo=ny)  # the day after clocks jump forward
    assert wall_clock_before(visit, 24, ny) == datetime(2027, 3, 14, 10, 0, tzinfo=ny)
    assert wall_clock_before(visit, 48, ny) == datetime(2027, 3, 13, 10, 0, tzinfo=ny)
    # 02:30 on the 14th does not exist: the first minute after the gap.
    early = datetime(2027, 3, 15, 2, 30, tzinfo=ny)
    assert wall_clock_before(early, 24, ny) == datetime(2027, 3, 14, 3, 0, tzinfo=ny)
    # 01:30 on 2027-11-07 happens twice: the first one (EDT).
    repeated = wall_clock_before(datetime(2027, 11, 8, 1, 30, tzinfo=ny), 24, ny)
    assert repeated == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


def test_every_day_of_a_year_offers_the_wall_clock_grid_in_several_zones():
    """The grid walked on the wall clock, checked day by day over a year with both clock changes
    (and a zone that changes at 01:00 UTC): each existing grid time at its first occurrence, once,
    where the whole visit fits before closing."""
    for zone in ("America/New_York", "Europe/London", "Australia/Lord_Howe"):
        tz = ZoneInfo(zone)
        for offset in range(366):
            day = date(2027, 1, 1) + timedelta(days=offset)
            for opens, closes in (("00:00", "23:55"), ("01:15", "03:45"), ("09:00", "17:00")):
                slots = free_slots([day], hours(day, opens, closes), tz, rules(duration=45, step=15), [], [])
                assert slots == _wall_clock_grid(day, opens, closes, tz, 45, 15), (zone, day, opens)


def _wall_clock_grid(day: date, opens: str, closes: str, tz: ZoneInfo, duration: int, step: int) -> list:
    closing = datetime.combine(day, time.fromisoformat(closes)).replace(tzinfo=tz).astimezone(UTC)
    wall, end = (datetime.combine(day, time.fromisoformat(t)) for t in (opens, closes))
    grid = []
    while wall < end:
        aware = wall.replace(tzinfo=tz)
        exists = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
        start = aware.astimezone(UTC)
        if exists and start + timedelta(minutes=duration) <= closing and start not in grid:
            grid.append(start)
        wall += timedelta(minutes=step)
    return sorted(grid)
