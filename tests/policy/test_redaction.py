import pytest

from policy.redaction import REDACTED, redact, redact_text


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
