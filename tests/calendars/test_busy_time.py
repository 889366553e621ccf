"""What an external event means for busy time, read off real iCalendar and Google event shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from backend.calendars import busy_time

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WINDOW = (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))


def _calendar(body: str) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//t//t//EN",
        *body.strip().splitlines(),
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def test_a_weekly_meeting_keeps_its_wall_clock_time_across_the_dst_change():
    shaped = busy_time.busy_shape(
        _calendar(
            "BEGIN:VEVENT\nUID:w\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Europe/London:20261015T120000\n"
            "DTEND;TZID=Europe/London:20261015T130000\nRRULE:FREQ=WEEKLY;COUNT=3\nSUMMARY:Secret\n"
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:someone@example.com\nEND:VEVENT"
        ),
        "dr",
    )
    stored = shaped.text  # what is kept, and expanded again as the window moves
    assert shaped.recurring and "Secret" not in stored and "someone@example.com" not in stored
    starts = [
        start.astimezone(LONDON).strftime("%m-%d %H:%M")
        for start, _ in busy_time.expand(stored, WINDOW, LONDON)
    ]
    assert starts == ["10-15 12:00", "10-22 12:00", "10-29 12:00"]  # 11:00Z, then 12:00Z after 25 Oct


def test_a_declined_invitation_and_our_own_booking_are_not_busy_time():
    declined = busy_time.busy_shape(
        _calendar(
            "BEGIN:VEVENT\nUID:d\nDTSTAMP:20260101T000000Z\nDTSTART:20261020T150000Z\nDTEND:20261020T160000Z\n"
            "ATTENDEE;PARTSTAT=DECLINED:mailto:dr@clinic.example\nEND:VEVENT"
        ),
        "dr@clinic.example",
    )
    assert busy_time.expand(declined.calendar, WINDOW, LONDON) == []
    own = _calendar(
        "BEGIN:VEVENT\nUID:5b1c@frontdesk\nDTSTAMP:20260101T000000Z\nDTSTART:20261020T150000Z\n"
        "DTEND:20261020T160000Z\nEND:VEVENT"
    )
    assert busy_time.busy_shape(own, "dr") is None


def test_floating_and_all_day_times_are_the_clinics_wall_clock():
    shaped = busy_time.busy_shape(
        _calendar(
            "BEGIN:VEVENT\nUID:f\nDTSTAMP:20260101T000000Z\nDTSTART:20261103T090000\nDURATION:PT2H\nEND:VEVENT\n"
            "BEGIN:VEVENT\nUID:a\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20261104\nEND:VEVENT"
        ),
        "dr",
    )
    ranges = sorted(busy_time.expand(shaped.calendar, WINDOW, NEW_YORK))
    assert ranges[0] == (datetime(2026, 11, 3, 14, 0, tzinfo=UTC), datetime(2026, 11, 3, 16, 0, tzinfo=UTC))
    assert ranges[1] == (datetime(2026, 11, 4, 5, 0, tzinfo=UTC), datetime(2026, 11, 5, 5, 0, tzinfo=UTC))


def test_google_events_that_do_not_make_the_provider_busy():
    base = {
        "start": {"dateTime": "2026-11-03T09:00:00-05:00"},
        "end": {"dateTime": "2026-11-03T10:00:00-05:00"},
    }
    assert busy_time.google_range(base, NEW_YORK) == (
        datetime(2026, 11, 3, 14, tzinfo=UTC),
        datetime(2026, 11, 3, 15, tzinfo=UTC),
    )
    for not_busy in (
        {"transparency": "transparent"},
        {"status": "cancelled"},
        {"eventType": "workingLocation"},
        {"attendees": [{"self": True, "responseStatus": "declined"}]},
        {"extendedProperties": {"private": {"frontdesk_appointment": "x"}}},
    ):
        assert busy_time.google_range({**base, **not_busy}, NEW_YORK) is None, not_busy
    all_day = {"start": {"date": "2026-11-04"}, "end": {"date": "2026-11-05"}}
    assert busy_time.google_range(all_day, NEW_YORK) == (
        datetime(2026, 11, 4, 5, tzinfo=UTC),
        datetime(2026, 11, 5, 5, tzinfo=UTC),
    )
