"""The SMS and voice channels' text rules: keywords, numbered options within two segments, speech."""

from __future__ import annotations

import pytest

from channels.segments import count_segments
from channels.sms import compose, keyword, reminder_reply
from channels.voice import clock_words, for_the_ear, option_number, speakable, wants_repeat


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "opt_out"),
        ("  stop. ", "opt_out"),
        ("Unsubscribe!", "opt_out"),
        ("cancel", "opt_out"),
        ("StopAll", "opt_out"),
        ("optout", "opt_out"),
        ("start", "opt_in"),
        ("UNSTOP", "opt_in"),
        ("help?", "help"),
        ("Info", "help"),
        ("yes", "yes"),
        ("cancel my appointment", None),
        ("please stop texting me", None),
        ("stopped", None),
        ("", None),
    ],
)
def test_keywords_are_single_words_case_and_punctuation_aside(text, expected):
    assert keyword(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C", "confirm"),
        ("c.", "confirm"),
        ("Confirm", "confirm"),
        ("YES", "confirm"),
        ("r", "reschedule"),
        ("Reschedule!", "reschedule"),
        ("can I come at 3?", None),
        ("cc", None),
    ],
)
def test_reminder_replies(text, expected):
    assert reminder_reply(text) == expected


def test_options_are_numbered_and_the_text_stays_within_two_segments():
    options = [f"Wed, Dec {day} at 10:30 AM with Dr. Adams-Whitfield" for day in range(1, 7)]
    text = compose(["Here are the first free times I can book your Check-up. Which works for you?"], options)
    assert text.startswith("Here are the first free times") and "\n1) Wed, Dec 1 at 10:30 AM" in text
    assert count_segments(text).segments <= 2
    shown = text.count(") Wed")
    assert 1 <= shown < 6 and text.endswith(f" or {shown}.")  # the ones that fit, and the question matches


def test_typography_does_not_turn_a_text_into_ucs2_and_overlong_text_is_cut_at_a_word():
    text = compose(["We\u2019re open \u2014 see you soon\u2026"], [])
    assert text == "We're open - see you soon..." and count_segments(text).encoding == "GSM-7"
    long = compose(["word " * 200], [])
    assert count_segments(long).segments == 2 and long.endswith("word...")


def test_a_turn_that_said_several_things_keeps_what_was_done_and_what_is_asked():
    done = "Your Check-up on Wed, Dec 9 at 11:00 AM is cancelled (reference K7M2QX)."
    middle = "I'm holding Fri, Dec 11 at 2:00 PM with Dr. Adams for 5 minutes. " * 2
    asked = (
        "Please confirm: Cleaning on Fri, Dec 11 at 2:00 PM with Dr. Adams, for Maria Lopez (+12125550100);"
        " we'll text you the confirmation and reminders. Shall I book it?"
    )
    text = compose([done, middle, asked], ["Yes, book it", "No, change something"])
    assert text.startswith(done) and "Shall I book it?" in text and "holding" not in text
    assert count_segments(text).segments <= 2


def test_a_long_turn_keeps_the_question_and_at_least_two_options_to_answer_it():
    done = (
        "This is Weekday Dental's automated assistant. It can't give medical advice. We're closed on "
        "Saturdays and Sundays, and on Friday, December 11 for staff training. The nearest open days "
        "are Thursday, December 10 and Monday, December 14."
    )
    asked = "Here are the first free times I can book your Check-up. Which works for you?"
    options = [f"{day} at 9:00 AM" for day in ("Thu, Dec 10", "Mon, Dec 14", "Tue, Dec 15", "Wed, Dec 16")]

    text = compose([done, asked], options)

    # Before, every option was dropped and the question then cut: nothing to reply with.
    assert count_segments(text).segments <= 2
    assert "Which works for you?\n1) Thu, Dec 10 at 9:00 AM\n2) Mon, Dec 14 at 9:00 AM" in text
    assert text.startswith("This is Weekday Dental's automated assistant.") and "..." in text
    assert text.endswith(" or 2.") or text.endswith(" or 3.")
    alone = compose([done + " " + done], options[:1])
    assert count_segments(alone).segments <= 2 and alone.endswith("\n1) Thu, Dec 10 at 9:00 AM\nReply 1.")


def test_times_dates_references_and_hours_are_written_for_the_ear():
    assert clock_words(10, 30, "AM") == "ten thirty a.m."
    assert clock_words(9, 0, "AM") == "nine a.m."
    assert clock_words(12, 0, "PM") == "noon"
    assert clock_words(1, 5, "PM") == "one oh five p.m."
    spoken = for_the_ear("Your Check-up on Tue, Dec 1 at 10:30 AM (reference K7M2QX). \U0001f600")
    assert spoken == "Your Check-up on Tuesday, December 1st at ten thirty a.m. (reference K, 7, M, 2, Q, X)."
    assert for_the_ear("Mon-Fri: 9:00 AM-12:00 PM") == "Monday to Friday: nine a.m. to noon"


def test_speech_reads_three_times_and_every_other_option_each_day_once():
    labels = [f"{day} at {hour}" for day in ("Thu, Dec 3", "Fri, Dec 4") for hour in ("2:15 PM", "3:00 PM")]
    spoken = speakable(["Which works for you?"], [*labels, "More times"], [True] * 4 + [False])
    assert spoken.read == (0, 1, 2, 4)  # three times, and "More times"; the fourth time is not read
    assert spoken.text == (
        "Which works for you? On Thursday, December 3rd: option one, two fifteen p.m.; option two, three "
        "p.m. On Friday, December 4th: option three, two fifteen p.m. Option four, more times. "
        "Say the option, or press its number. To hear them again, say repeat, or press star."
    )
    # A day the reply already named is not said again.
    named = speakable(["Here are the times on Thursday, December 3."], labels[:2], [True, True])
    assert named.text.count("Thursday") == 1 and "Option one, two fifteen p.m.; option two" in named.text


@pytest.mark.parametrize(
    ("heard", "number"),
    [("2", 2), ("2.", 2), ("number two", 2), ("Press two.", 2), ("one", 1), ("Option 3", 3), ("9", 9)],
)
def test_options_are_chosen_by_key_or_spoken_number(heard, number):
    assert option_number(heard) == number


@pytest.mark.parametrize("heard", ["the second one", "Jane Doe", "two o'clock tomorrow", "yes"])
def test_other_answers_are_not_option_numbers(heard):
    assert option_number(heard) is None


@pytest.mark.parametrize("heard", ["repeat", "Can you repeat that?", "say that again please", "*", "pardon?"])
def test_asking_to_hear_it_again(heard):
    assert wants_repeat(heard)


def test_no_screen_words_on_the_phone():
    spoken = for_the_ear(
        "Here's what I can do. Tap one. Cancel it? Reply yes to cancel it. Times (America/New_York)."
    )
    assert spoken == "Here's what I can do. Choose one. Cancel it? Say yes to cancel it. Times."
    assert for_the_ear("Call +16175550199.") == "Call 6 1 7, 5 5 5, 0 1 9 9."


@pytest.mark.parametrize(
    "before",
    [
        "Your check-up on Thursday, December 10 at 9:00 AM can move to one of these.",
        "We're open 9 AM to 5 PM on Thursdays.",
        "Here are the free times closest to 3 PM on Friday, December 4. "
        "The nearest is Thursday, December 3rd.",
    ],
)
def test_a_day_goes_unsaid_only_when_it_is_the_one_date_said_before(before):
    labels = ["Thu, Dec 3 at 2:15 PM", "Thu, Dec 3 at 3:00 PM"]
    spoken = speakable([before], labels, [True, True])
    assert "On Thursday, December 3rd: option one, two fifteen p.m.; option two, three p.m." in spoken.text
