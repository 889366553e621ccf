"""The rest of a reading: offered options, relative targets, services, providers, intents, contact."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from agent.understanding import Context, Named, Offered, Person, read
from agent.understanding.contact import find_email, find_name, find_phone, find_reference

TODAY = date(2026, 12, 1)  # a Tuesday
NY = ZoneInfo("America/New_York")
SERVICES = (
    Named("checkup", ("Check-up", "checkup", "exam"), "Exam with the dentist"),
    Named(
        "cleaning",
        ("Dental cleaning", "cleaning", "teeth cleaning", "scale and polish"),
        "Cleaning and polish",
    ),
    Named("filling", ("Filling", "cavity"), "Tooth filling"),
)
BARE_SERVICES = (
    Named("checkup", ("Check-up",)),
    Named("cleaning", ("Cleaning",)),
    Named("filling", ("Filling",)),
)
PROVIDERS = (Person("chen", "Dr. Maya Chen"), Person("sam", "Sam Rivera, RDH"))
OFFERS = (
    Offered("Wed, Dec 2 at 9:00 AM", datetime(2026, 12, 2, 9, 0, tzinfo=NY)),
    Offered("Wed, Dec 2 at 10:30 AM", datetime(2026, 12, 2, 10, 30, tzinfo=NY)),
    Offered("Thu, Dec 3 at 1:30 PM", datetime(2026, 12, 3, 13, 30, tzinfo=NY)),
    Offered("Fri, Dec 4 at 9:00 AM", datetime(2026, 12, 4, 9, 0, tzinfo=NY)),
    Offered("Fri, Dec 4 at 2:00 PM", datetime(2026, 12, 4, 14, 0, tzinfo=NY)),
    Offered("More times"),
)


def offered(text):
    return read(text, Context(TODAY, offered=OFFERS, expecting="time")).options


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("the first one", (0,)),
        ("the second one please", (1,)),
        ("the last one", (4,)),  # the last time, not the "More times" chip
        ("second to last", (3,)),
        ("option 3", (2,)),
        ("#2", (1,)),
        ("the 10:30", (1,)),
        ("1:30 works", (2,)),
        ("ten thirty is good", (1,)),
        ("2pm", (4,)),
        ("the Thursday one", (2,)),
        ("friday works", (3, 4)),  # narrowed to Friday's two
        ("Friday at 2", (4,)),
        ("the earlier one", (0,)),
        ("the latest", (4,)),
        ("any of them is fine", (0,)),
        ("the 9", (0, 3)),
    ],
)
def test_offered_options_are_answerable_in_words(text, options):
    assert offered(text) == options


@pytest.mark.parametrize(
    "text", ["what about Thursday?", "the 12th", "something in the afternoon", "hello", "4pm"]
)
def test_words_that_name_nothing_on_offer_point_at_nothing(text):
    assert offered(text) == ()


@pytest.mark.parametrize(
    ("text", "shift"),
    [
        ("none of those", "none"),
        ("neither works", "none"),
        ("other times?", "more"),
        ("more times", "more"),
        ("anything later?", "later"),
        ("something earlier", "earlier"),
        ("a different day", "other_days"),
        ("later today", None),  # a day, not a move
    ],
)
def test_moves_of_the_search(text, shift):
    assert read(text, Context(TODAY, offered=OFFERS)).shift == shift


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the same day but in the afternoon", {"same_day": True}),
        ("an hour later", {"minutes": 60}),
        ("30 minutes earlier", {"minutes": -30}),
        ("half an hour later", {"minutes": 30}),
        ("same time next week", {"same_time": True, "day_offset": 7}),
        ("the Thursday after", {"weekday_after": 3}),
        ("the following Monday", {"weekday_after": 0}),
        ("the next day", {"day_offset": 1}),
        ("later that day", {"same_day": True, "direction": "later"}),
    ],
)
def test_times_relative_to_an_appointment(text, expected):
    relative = read(text, Context(TODAY)).relative
    assert relative is not None
    assert {k: getattr(relative, k) for k in expected} == expected


def test_a_relative_day_keeps_its_part_of_the_day():
    reading = read("same day but in the afternoon", Context(TODAY))
    assert reading.relative.same_day and reading.time.part_of_day == "afternoon" and reading.days is None


@pytest.mark.parametrize(
    ("text", "services", "catalogue"),
    [
        ("I need a check-up", ("checkup",), SERVICES),
        ("checkup please", ("checkup",), SERVICES),
        ("can I get my teeth cleaning done", ("cleaning",), SERVICES),
        ("a scale and polish", ("cleaning",), SERVICES),
        ("I think I have a cavity", ("filling",), SERVICES),
        ("two fillings", ("filling",), SERVICES),
        ("a chekup", ("checkup",), SERVICES),
        ("I'd like my teeth cleaned", ("cleaning",), BARE_SERVICES),
        ("I've got a cavity", ("filling",), BARE_SERVICES),
        ("my annual exam", ("checkup",), BARE_SERVICES),
        ("a dental appointment", (), SERVICES),
        ("hello", (), SERVICES),
        ("can you check if tuesday is free", (), BARE_SERVICES),
    ],
)
def test_services_by_name_alias_description_or_typo(text, services, catalogue):
    assert read(text, Context(TODAY, services=catalogue)).services == services


def test_providers_by_any_part_of_their_name():
    assert read("can Dr. Chen see me", Context(TODAY, providers=PROVIDERS)).provider_id == "chen"
    assert read("with maya please", Context(TODAY, providers=PROVIDERS)).provider_id == "chen"
    assert read("sam rivera", Context(TODAY, providers=PROVIDERS)).provider_id == "sam"
    assert read("the hygienist", Context(TODAY, providers=PROVIDERS)).provider_id is None
    assert read("anyone is fine", Context(TODAY, providers=PROVIDERS)).any_provider


def test_one_message_can_say_everything():
    reading = read(
        "could you fit me in for a scale and polish on the 10th, say quarter past three? "
        "I'm Jane Doe, 617-555-0100",
        Context(TODAY, services=SERVICES),
    )
    assert reading.services == ("cleaning",) and "book" in reading.intents
    assert (reading.days.first, reading.time.exact) == (date(2026, 12, 10), time(15, 15))
    assert (reading.name, reading.phone) == ("Jane Doe", "617-555-0100")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to book an appointment", ("book",)),
        ("cancel my appointment", ("cancel", "book")),
        ("I won't be able to make it on Friday", ("cancel",)),
        ("I need to reschedule", ("reschedule",)),
        ("can I move my appointment", ("reschedule", "book")),
        ("when is my appointment?", ("lookup", "book")),
        ("what are your opening hours", ("hours",)),
        ("put me on the waitlist", ("waitlist",)),
        ("can I talk to a real person", ("human",)),
        ("could you fit me in", ("book",)),
    ],
)
def test_intents(text, expected):
    assert read(text, Context(TODAY)).intents == expected


@pytest.mark.parametrize(
    ("text", "yes", "no"),
    [
        ("yes", True, False),
        ("Yep, that works", True, False),
        ("sounds good", True, False),
        ("sure thing", True, False),
        ("no", False, True),
        ("nope", False, True),
        ("not really", False, True),
        ("maybe", False, False),
    ],
)
def test_yes_and_no(text, yes, no):
    reading = read(text, Context(TODAY))
    assert (reading.yes, reading.no) == (yes, no)


def test_contact_details():
    assert find_email("it's Jane.Doe@Example.com thanks") == "jane.doe@example.com"
    assert find_phone("call me on (617) 555-0100") == "(617) 555-0100"
    assert find_phone("at 10:30 tomorrow") is None
    assert find_phone("on 2026-12-10") is None
    assert find_reference("my reference is k7m2qx") == "K7M2QX"
    assert find_reference("tomorrow please") is None
    assert find_reference("thanks") is None
    assert find_reference("cancel booking NDPWJR") == "NDPWJR"
    assert find_reference("ndpwjr", expecting=True) == "NDPWJR"
    assert find_name("my name is jane doe", expecting_name=False) == "Jane Doe"
    assert find_name("my name is jane and I need a cleaning", expecting_name=False) == "Jane"
    assert find_name("Jane", expecting_name=True) == "Jane"
    assert find_name("Jane Doe, 617-555-0100", expecting_name=True) == "Jane Doe"
    assert find_name("Jane here", expecting_name=False) == "Jane"
    assert find_name("I'm looking for a slot", expecting_name=False) is None
    assert find_name("it's for my son", expecting_name=False) is None
    assert find_name("tomorrow afternoon", expecting_name=True, says_something_else=True) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Can a person call me back?", None),
        ("please call me later today", None),
        ("could someone call me at 5pm", None),
        ("call me asap about my filling", None),
        ("call me Jo", "Jo"),
        ("you can call me Jane Doe", "Jane Doe"),
    ],
)
def test_call_me_names_a_person_only_when_a_name_follows(text, name):
    assert find_name(text, expecting_name=False) == name


@pytest.mark.parametrize(
    ("text", "expecting", "reference"),
    [
        ("C W D B V 9", None, "CWDBV9"),
        ("K. 7. M. 2. Q. X.", None, "K7M2QX"),
        ("my reference is Charlie Whiskey Delta Bravo Victor nine", None, "CWDBV9"),
        ("see double you dee bee vee nine", None, "CWDBV9"),
        ("it's kilo seven mike two quebec x-ray", None, "K7M2QX"),
        ("double five K M P Q", "reference", "55KMPQ"),
        ("are you sure you can see me", None, None),
        ("why are you so expensive", None, None),
        ("I see you are at the clinic at two", None, None),
        ("A B C D E F G", None, None),  # seven letters, and I and O are not in references
        # "P M" and "A M" in a spelled run are letters, not the time of day, wherever they fall.
        ("the reference is Y 9 M F P M", None, "Y9MFPM"),
        ("P M X 4 5 6", "reference", "PMX456"),
        ("my code is K A M 2 3 Q", None, "KAM23Q"),
        ("can I come at 9 p m on Friday", None, None),
    ],
)
def test_references_spelled_letter_by_letter(text, expecting, reference):
    assert read(text, Context(today=TODAY, expecting=expecting)).reference == reference
