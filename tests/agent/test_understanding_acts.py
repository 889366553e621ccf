"""Dialogue acts: a message read into the ordered requests it makes, and the readers behind them
(texting forms, places of a weekday in a month, relative moves, endings, the lexicon of services)."""

from datetime import date

import pytest

from agent.understanding import Context, Named, lexicon, read, read_acts
from agent.understanding.commands import command, declines, keeps, unreadable
from agent.understanding.questions import asked_for, topic

TODAY = date(2026, 3, 4)  # a Wednesday
SERVICES = (
    Named("checkup", ("Check-up", "checkup", "exam"), "Exam with the dentist"),
    Named("cleaning", ("Dental cleaning", "cleaning", "hygiene"), "Cleaning and polish with the hygienist"),
    Named("filling", ("Filling", "cavity"), "Tooth filling"),
    Named("whitening", ("Teeth whitening", "whitening"), "In-chair whitening"),
)
CONTEXT = Context(TODAY, services=SERVICES, profile="healthcare")


def kinds(text: str) -> list[tuple[str, str | None]]:
    return [(a.kind, a.topic) for a in read_acts(text, CONTEXT)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "are you open late on thursdays? if so pencil me in for a cleaning after work",
            [("answer", "hours"), ("book", None)],
        ),
        (
            "drop my filling on the 9th and put me in for a check-up the week after",
            [("existing", "cancel"), ("book", None)],
        ),
        ("cancel my filling and rebook for a week later", [("existing", "cancel"), ("book", None)]),
        (
            "when is my appointment? and can I move it to friday at 3",
            [("existing", "lookup"), ("existing", "move")],
        ),
        (
            "is there parking? also I'd like a cleaning next tuesday at 11",
            [("answer", "question"), ("frame", None)],
        ),
        (
            "do you do implants? if not just a check-up monday at 9 then",
            [("not_offered", "lexicon"), ("frame", None)],
        ),
        ("do you do whitening? if so book me in friday at 11", [("answer", "offered"), ("book", None)]),
        ("book me a check-up at 10 tomorrow, I'm Jane Doe, 617-555-0100", [("book", None)]),
        ("Tuesday won't work, how about the 14th?", [("frame", None)]),
    ],
)
def test_a_message_is_read_into_its_requests_in_order(text, expected):
    assert kinds(text) == expected


def test_a_request_inherits_what_a_question_before_it_named():
    question, booking = read_acts(
        "what time do you open on friday, and can I get a check-up that morning?", CONTEXT
    )
    assert question.topic == "hours" and booking.reading.days == question.reading.days
    _, booked = read_acts("do you do whitening? if so book me in friday at 11", CONTEXT)
    assert booked.reading.services == ("whitening",)
    duration = read_acts("book a cleaning at 2 on friday and tell me how long it takes", CONTEXT)[1]
    assert duration.topic == "duration" and duration.reading.services == ("cleaning",)


def test_the_words_that_describe_a_booking_pick_it_and_the_rest_say_where_it_goes():
    [move] = read_acts("can you move my cleaning on thursday to saturday?", CONTEXT)
    assert move.kind == "existing" and move.topic == "move"
    assert move.hint.services == ("cleaning",) and move.hint.days.first == date(2026, 3, 5)
    assert move.reading.days.first == date(2026, 3, 7) and move.reading.services == ()


@pytest.mark.parametrize(
    "text",
    [
        "something came up, can I do friday at 3 instead?",
        "could I come in a day earlier?",
        "same time but monday",
    ],
)
def test_a_change_without_a_booking_named_has_moving_one_as_its_close_second(text):
    [act] = read_acts(text, CONTEXT)
    assert act.kind == "frame" and act.alternative is not None and act.alternative.topic == "move"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("do you do implants?", "implants"),
        ("I need a root canal", "root canal treatment"),
        ("can I get braces fitted", "braces"),
        ("can you do a deep clean?", "deep cleaning"),
        ("I'd like my wisdom teeth out", "wisdom teeth removal"),
        ("do u do veneers", "veneers"),
    ],
)
def test_services_the_practice_does_not_offer_are_named(text, name):
    acts = read_acts(text, CONTEXT)
    assert acts[0].kind == "not_offered" and acts[0].subject == name
    assert not any(a.reading.services for a in acts)  # never silently another service


def test_a_service_the_practice_offers_is_not_said_to_be_missing():
    assert [a.kind for a in read_acts("I want my teeth whitened on friday at 10", CONTEXT)] == ["frame"]


def test_the_lexicon_follows_the_kind_of_practice():
    dental = lexicon.terms_for("healthcare", "check-up exam with the dentist")
    salon = lexicon.terms_for("salon", "haircut colour")
    assert any(t.name == "implants" for t in dental) and not any(t.name == "nails" for t in dental)
    assert any(t.name == "nails" for t in salon) and not any(t.name == "implants" for t in salon)


@pytest.mark.parametrize(
    ("text", "thing"),
    [("do you do hypnotherapy?", "hypnotherapy"), ("I need a tattoo removal", "tattoo removal")],
)
def test_anything_else_asked_for_by_name_is_caught(text, thing):
    assert asked_for(text.lower()) == thing


@pytest.mark.parametrize("text", ["do you have parking?", "do you do evenings", "I need an appointment"])
def test_questions_about_the_practice_are_not_services(text):
    assert asked_for(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how long does a filling take?", "duration"),
        ("how much is a cleaning", "price"),
        ("do you offer whitening", "offered"),
        ("is there parking nearby?", "question"),
        ("check-up on friday", None),
    ],
)
def test_questions(text, expected):
    assert topic(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "that's ok, I'll sort it out another time",
        "I need to ask my partner first",
        "actually never mind",
        "no thanks",
        "I'll think about it",
        "leave it for now",
    ],
)
def test_endings(text):
    assert declines(text.lower()) is not None


@pytest.mark.parametrize(
    "text", ["actually leave it as it is", "on second thought keep it", "no wait, don't"]
)
def test_a_change_of_heart_at_a_cancel(text):
    assert keeps(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("start over", "restart"), ("help", "help"), ("menu", "menu"), ("can we start again please", "restart")],
)
def test_commands(text, expected):
    assert command(text) == expected
    assert command(f"book a check-up and {text}") is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("hola, quiero una cita", "foreign"),
        ("🙂🙂", "emoji"),
        ("canibookacheckupplease", "unspaced"),
        ("hi", None),
    ],
)
def test_messages_that_cannot_be_read(text, why):
    assert unreadable(text) == why


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("the third thursday of next month", date(2026, 4, 16)),
        ("the 3rd thursday of next month", date(2026, 4, 16)),
        ("the second-to-last wednesday in april", date(2026, 4, 22)),
        ("last friday of next month", date(2026, 4, 24)),
        ("the first monday of next month", date(2026, 4, 6)),
        ("the last friday of the month", date(2026, 3, 27)),
        ("the monday after next", date(2026, 3, 16)),
        ("in a fortnight", date(2026, 3, 18)),
        ("a fortnight on friday", date(2026, 3, 20)),
        ("tues", date(2026, 3, 10)),
        ("2moro", date(2026, 3, 5)),
        ("nxt wk weds", date(2026, 3, 11)),
        ("sat 10am", date(2026, 3, 7)),
    ],
)
def test_days(text, day):
    reading = read(text, Context(TODAY))
    assert reading.days is not None and reading.days.first == day


def test_texting_forms_of_spans_and_times():
    weekend = read("can i come in at the wknd", Context(TODAY)).days
    assert (weekend.first, weekend.last) == (date(2026, 3, 7), date(2026, 3, 8))
    assert read("5ish", Context(TODAY, expecting="time")).time.exact.hour == 17


@pytest.mark.parametrize(
    ("text", "days", "minutes"),
    [
        ("move it forty-five minutes later", 0, 45),
        ("push it back a fortnight", 14, 0),
        ("bring my cleaning forward half an hour", 0, -30),
        ("could it be a quarter of an hour earlier", 0, -15),
        ("an hour and a half later", 0, 90),
        ("a day earlier", -1, 0),
        ("2 days later", 2, 0),
        ("the following week, same time", 7, 0),
    ],
)
def test_relative_moves(text, days, minutes):
    relative = read(text, Context(TODAY)).relative
    assert (relative.day_offset, relative.minutes) == (days, minutes)


def test_the_week_after_is_a_week_not_a_day():
    assert read("a check-up the week after", Context(TODAY)).relative.week_after


@pytest.mark.parametrize(
    ("text", "name"),
    [("my name is actually Janet Doe", "Janet Doe"), ("it's for a cleaning", None), ("this is urgent", None)],
)
def test_names_only_when_given(text, name):
    assert read(text, CONTEXT).name == name
