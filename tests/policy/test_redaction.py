import pytest

from policy.redaction import REDACTED, redact, redact_for_log, redact_text


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("phone", "+16175550100", "+*********00"),
        ("phone", "(617) 555-0100", "********00"),
        ("email", "Jane.Doe@Example.com", "***@Example.com"),
        ("name", "Jane Doe", REDACTED),
        ("notes", "tooth ache since Monday", REDACTED),
        ("reason", "feeling dizzy, will call back", REDACTED),
        ("phone", "12", REDACTED),
    ],
)
def test_known_personal_fields_are_masked(key, value, expected):
    assert redact({key: value}) == {key: expected}


def test_phone_and_email_inside_free_text_are_masked():
    text = "call me at +1 (617) 555-0100 or write to jane.d@gmail.com"
    assert redact_text(text) == "call me at +*********00 or write to ***@gmail.com"


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-24T15:00:00+00:00",
        "2026-11-24",
        "2026-11-24 15:00",
        "3f2a1234-1234-1234-1234-123456789012",
        "sk_live_AbCd1234",
        "30 minutes",
    ],
)
def test_identifiers_and_timestamps_survive(value):
    assert redact({"detail": value}) == {"detail": value}


def test_nested_structures_are_walked():
    details = {"customer": {"name": "Jane", "phone": "+16175550100"}, "items": [{"email": "a@b.co"}], "n": 3}
    assert redact(details) == {
        "customer": {"name": REDACTED, "phone": "+*********00"},
        "items": [{"email": "***@b.co"}],
        "n": 3,
    }


@pytest.mark.parametrize(
    ("text", "audit", "log"),
    [
        ("617/555/0177", "********77", "**********"),
        ("6175550177x", "********77x", "**********x"),
        ("tel6175550177", "tel********77", "tel**********"),
        ("+1 (617) 555-0177", "+*********77", "+***********"),
        ("a@[10.1.2.3]", "***@[10.1.2.3]", "***@[10.1.2.3]"),
        ("write to a@example.c today", "write to ***@example.c today", "write to ***@example.c today"),
    ],
)
def test_every_form_the_api_accepts_is_masked_and_logs_keep_no_digit(text, audit, log):
    assert redact_text(text) == audit
    assert redact_for_log(text) == log


@pytest.mark.parametrize(
    "value",
    [
        "request 5f3a9b1234567890abcdef1234567890 from 192.168.100.200:51234",
        "SM0123456789abcdef0123456789abcdef delivered",
        "2026-12-04 18:30:37,376 booking 3f2a1234-1234-1234-1234-123456789012",
    ],
)
def test_ids_addresses_and_log_timestamps_stay_readable(value):
    assert redact_for_log(value) == value
