"""Reading days and times as patients write and say them (agent.understanding), one rule per case."""

from datetime import date, time

import pytest

from agent.understanding import Context, read

TODAY = date(2026, 11, 24)  # a Tuesday


def days(text, today=TODAY):
    found = read(text, Context(today)).days
    return (found.first, found.last) if found else None


def day(text, today=TODAY):
    found = days(text, today)
    assert found is not None and found[0] == found[1], f"{text!r} -> {found}"
    return found[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow", date(2026, 11, 25)),
        ("today please", TODAY),
        ("the day after tomorrow", date(2026, 11, 26)),
        ("Dec 3 at 10am", date(2026, 12, 3)),
        ("December 3rd", date(2026, 12, 3)),
        ("3rd of December", date(2026, 12, 3)),
        ("the 3rd of December", date(2026, 12, 3)),
        ("december the third", date(2026, 12, 3)),
        ("12/3", date(2026, 12, 3)),
        ("2027-01-15", date(2027, 1, 15)),
        ("Nov 2", date(2027, 11, 2)),  # already past this year: next year's
        ("January 5, 2027", date(2027, 1, 5)),
        ("13 March", date(2027, 3, 13)),
        ("on March the 5th", date(2027, 3, 5)),
        ("8th March", date(2027, 3, 8)),
        ("on 3/8 at 2", date(2027, 3, 8)),
    ],
)
def test_absolute_dates(text, expected):
    assert day(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the 25th", date(2026, 11, 25)),
        ("on the 3rd", date(2026, 12, 3)),  # the 3rd of this month has passed: next month's
        ("the 24th", TODAY),
        ("the 1st of next month", date(2026, 12, 1)),
        ("the 3rd of next month", date(2026, 12, 3)),
        ("the 28th of this month", date(2026, 11, 28)),
        ("on the twenty-first of next month", date(2026, 12, 21)),
        ("on the third", date(2026, 12, 3)),
    ],
)
def test_ordinal_days_prefer_the_future(text, expected):
    assert day(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on friday", date(2026, 11, 27)),
        ("Friday", date(2026, 11, 27)),
        ("this Friday", date(2026, 11, 27)),
        ("this coming Friday", date(2026, 11, 27)),
        ("next Tuesday afternoon", date(2026, 12, 1)),  # today is a Tuesday: the next one
        ("next Friday", date(2026, 11, 27)),
        ("Friday next week", date(2026, 12, 4)),
        ("Tuesday next week", date(2026, 12, 1)),
        ("next week on Thursday", date(2026, 12, 3)),
        ("Sunday this week", date(2026, 11, 29)),
        ("a week from Tuesday", date(2026, 12, 8)),
        ("two weeks from Friday", date(2026, 12, 11)),
        ("Friday after next", date(2026, 12, 4)),
        ("thurs", date(2026, 11, 26)),
    ],
)
def test_weekdays_with_and_without_qualifiers(text, expected):
    assert day(text) == expected


def test_a_weekday_and_a_day_of_the_month_find_the_date_that_is_both():
    # Thursday the 3rd is not this week's Thursday (the 26th) but December 3rd, a Thursday.
    assert day("thursday the 3rd") == date(2026, 12, 3)
    assert day("Friday the 4th") == date(2026, 12, 4)
    # When they disagree, both are kept so the patient is asked.
    found = read("Thursday December 4", Context(TODAY)).days
    assert found is not None and set(found.conflict) == {date(2026, 12, 4), date(2026, 11, 26)}


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("in 3 days", date(2026, 11, 27), date(2026, 11, 27)),
        ("in two weeks", date(2026, 12, 8), date(2026, 12, 8)),
        ("in a week", date(2026, 12, 1), date(2026, 12, 1)),
        ("next week", date(2026, 11, 30), date(2026, 12, 6)),
        ("the week after next", date(2026, 12, 7), date(2026, 12, 13)),
        ("this week", TODAY, date(2026, 11, 29)),
        ("early next week", date(2026, 11, 30), date(2026, 12, 2)),
        ("end of the month", TODAY, date(2026, 11, 30)),
        ("this weekend", date(2026, 11, 28), date(2026, 11, 29)),
        ("Tuesday or Wednesday", TODAY + (date(2026, 12, 1) - TODAY), date(2026, 11, 25)),
    ],
)
def test_relative_days_and_ranges(text, first, last):
    found = days(text)
    assert found is not None and (min(found), max(found)) == (min(first, last), max(first, last))


def test_end_of_the_month_is_its_last_week():
    assert days("end of the month", date(2026, 12, 2)) == (date(2026, 12, 25), date(2026, 12, 31))


def test_of_several_days_the_one_still_standing_counts():
    assert day("Tuesday won't work, how about the 30th?") == date(2026, 11, 30)
    assert day("tomorrow, that's the 26th") == date(2026, 11, 26)
    assert day("I can't do Friday. Thursday please") == date(2026, 11, 26)
    assert days("the earliest you have") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10am", time(10)),
        ("10 a.m.", time(10)),
        ("at 10", time(10)),
        ("10:30", time(10, 30)),
        ("tomorrow at 10:30", time(10, 30)),
        ("at 3", time(15)),
        ("2:45 pm", time(14, 45)),
        ("16:45", time(16, 45)),
        ("09:45", time(9, 45)),
        ("half past 2", time(14, 30)),
        ("quarter to 4", time(15, 45)),
        ("a quarter past ten", time(10, 15)),
        ("twenty past three", time(15, 20)),
        ("noon on friday", time(12)),
        ("ten thirty", time(10, 30)),
        ("two p m", time(14)),
        ("nine oh five", time(9, 5)),
        ("three o'clock", time(15)),
        ("4:30 in the evening", time(16, 30)),
        ("evening 5:45", time(17, 45)),
        ("morning 11:30", time(11, 30)),
        ("half past 12 in the afternoon", time(12, 30)),
        ("quarter to 12 in the morning", time(11, 45)),
        ("tomorrow afternoon at 2", time(14)),
        ("half 3", time(15, 30)),
        ("at half three", time(15, 30)),
        ("at 1700", time(17)),
        ("quarter after 2", time(14, 15)),
        ("twenty to five", time(16, 40)),
        ("3.30pm", time(15, 30)),
        ("noon-ish", time(12)),
        ("5:30 on the 10th of March", time(17, 30)),
    ],
)
def test_clock_times(text, expected):
    found = read(text, Context(TODAY)).time
    assert found is not None and found.exact == expected


def test_around_a_time_is_approximate():
    found = read("around 3", Context(TODAY)).time
    assert found is not None and found.exact == time(15) and found.approximate
    assert read("3ish", Context(TODAY)).time.approximate
    assert not read("at 3", Context(TODAY)).time.approximate


@pytest.mark.parametrize(
    ("text", "after", "before", "part"),
    [
        ("after 4", time(16), None, None),
        ("after 3pm on Monday", time(15), None, None),
        ("before 11", None, time(11), None),
        ("before noon", None, time(12), None),
        ("by 2pm", None, time(14), None),
        ("between 2 and 4", time(14), time(16), None),
        ("from 10 to 12", time(10), time(12), None),
        ("2-4pm", time(14), time(16), None),
        ("between 10 and 2", time(10), time(14), None),
        ("late afternoon", time(15), None, "afternoon"),
        ("lunchtime", time(11, 30), time(13, 30), None),
        ("next Tuesday afternoon", None, None, "afternoon"),
        ("friday morning", None, None, "morning"),
        ("in the evening", None, None, "evening"),
    ],
)
def test_ranges_and_parts_of_the_day(text, after, before, part):
    found = read(text, Context(TODAY)).time
    assert found is not None and (found.after, found.before, found.part_of_day) == (after, before, part)


def test_first_thing_is_the_earliest_morning():
    found = read("first thing", Context(TODAY)).time
    assert found is not None and found.part_of_day == "morning" and found.earliest


@pytest.mark.parametrize(
    "text",
    ["Dec 3rd", "in 3 days", "the 2nd", "two weeks from now", "good morning", "I need 2 fillings", "$10.50"],
)
def test_numbers_that_are_not_times(text):
    found = read(text, Context(TODAY)).time
    assert found is None or found.exact is None


def test_a_bare_number_is_a_time_only_when_a_time_was_asked_for():
    assert read("10", Context(TODAY)).time is None
    assert read("10", Context(TODAY, expecting="time")).time.exact == time(10)
