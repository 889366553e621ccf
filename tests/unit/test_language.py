"""How the deterministic engine reads dates, times, services and contact details."""

from datetime import date, time

import pytest

from agent.language import (
    Named,
    find_email,
    find_name,
    find_phone,
    find_reference,
    intents,
    match_service,
    parse_when,
)

TODAY = date(2026, 11, 24)  # a Tuesday


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("tomorrow", date(2026, 11, 25), date(2026, 11, 25)),
        ("today please", TODAY, TODAY),
        ("the day after tomorrow", date(2026, 11, 26), date(2026, 11, 26)),
        ("next Tuesday afternoon", date(2026, 12, 1), date(2026, 12, 1)),
        ("on friday", date(2026, 11, 27), date(2026, 11, 27)),
        ("Dec 3 at 10am", date(2026, 12, 3), date(2026, 12, 3)),
        ("December 3rd", date(2026, 12, 3), date(2026, 12, 3)),
        ("3rd of December", date(2026, 12, 3), date(2026, 12, 3)),
        ("12/3", date(2026, 12, 3), date(2026, 12, 3)),
        ("2027-01-15", date(2027, 1, 15), date(2027, 1, 15)),
        ("Nov 2", date(2027, 11, 2), date(2027, 11, 2)),  # already past this year: next year's
        ("in 3 days", date(2026, 11, 27), date(2026, 11, 27)),
        ("in two weeks", date(2026, 12, 8), date(2026, 12, 8)),
        ("next week", date(2026, 11, 30), date(2026, 12, 6)),
        ("the earliest you have", None, None),
    ],
)
def test_days(text, first, last):
    when = parse_when(text, TODAY)
    assert (when.first_day, when.last_day) == (first, last)


@pytest.mark.parametrize(
    ("text", "exact", "part"),
    [
        ("Dec 3 at 10am", time(10), None),
        ("tomorrow at 10:30", time(10, 30), None),
        ("at 3", time(15), None),
        ("2:45 pm", time(14, 45), None),
        ("noon on friday", time(12), None),
        ("next Tuesday afternoon", None, "afternoon"),
        ("friday morning", None, "morning"),
        ("Dec 3rd", None, None),
        ("in 3 days", None, None),
    ],
)
def test_times(text, exact, part):
    when = parse_when(text, TODAY)
    assert (when.exact_time, when.part_of_day) == (exact, part)


def test_earliest_and_ranges_of_hours():
    assert parse_when("the earliest", TODAY).earliest
    assert parse_when("soonest possible", TODAY).earliest
    assert parse_when("after 3pm on Monday", TODAY).after == time(15)
    assert parse_when("before noon", TODAY).before == time(12)


SERVICES = [
    Named("checkup", ("Check-up", "checkup", "exam")),
    Named("cleaning", ("Dental cleaning", "cleaning", "teeth cleaning")),
    Named("filling", ("Filling", "cavity")),
]


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("I need a check-up", "checkup"),
        ("checkup please", "checkup"),
        ("can I get my teeth cleaning done", "cleaning"),
        ("dental cleaning", "cleaning"),
        ("I think I have a cavity", "filling"),
        ("two fillings", "filling"),
        ("a chekup", "checkup"),
        ("hello", None),
    ],
)
def test_services_by_name_alias_plural_or_typo(text, service):
    assert match_service(text, SERVICES) == service


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to book an appointment", ["book"]),
        ("cancel my appointment", ["cancel", "book"]),
        ("I need to reschedule", ["reschedule"]),
        ("when is my appointment?", ["lookup", "book"]),
        ("what are your opening hours", ["hours"]),
        ("put me on the waitlist", ["waitlist"]),
        ("can I talk to a real person", ["human"]),
    ],
)
def test_intents(text, expected):
    assert intents(text) == expected


def test_contact_details():
    assert find_email("it's Jane.Doe@Example.com thanks") == "jane.doe@example.com"
    assert find_phone("call me on (617) 555-0100") == "(617) 555-0100"
    assert find_phone("at 10:30 tomorrow") is None
    assert find_reference("my reference is k7m2qx") == "K7M2QX"
    assert find_reference("tomorrow please") is None
    assert find_reference("thanks") is None
    assert find_reference("cancel booking NDPWJR") == "NDPWJR"
    assert find_reference("my reference is ndpwjr") == "NDPWJR"
    assert find_reference("ndpwjr", expecting=True) == "NDPWJR"
    assert find_name("my name is jane doe", expecting_name=False) == "Jane Doe"
    assert find_name("Jane", expecting_name=True) == "Jane"
    assert find_name("I'm looking for a slot", expecting_name=False) is None
    assert find_name("tomorrow afternoon", expecting_name=True) is None
