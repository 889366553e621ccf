"""PII redaction for audit rows and logs.

Fields known to hold personal data are masked by name; every other string is scanned for phone
numbers and e-mail addresses, so PII pasted into free text (notes, messages) is caught as well.
What stays in an audit row is enough to tell records apart (the last two digits of a phone, an
e-mail's domain); what stays in a log line (`redact_for_log`) is no digit of a phone at all.
Every pattern is linear in its input (bench/hostile_readers.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NAME_FIELDS = frozenset({"name", "first_name", "last_name", "full_name", "customer_name", "patient_name"})
PHONE_FIELDS = frozenset({"phone", "phone_number", "from", "to", "caller", "recipient_phone"})
EMAIL_FIELDS = frozenset({"email", "email_address", "recipient_email"})
# Free text that may describe symptoms or say who someone is: never kept.
TEXT_FIELDS = frozenset(
    {
        "notes",
        "reason",
        "cancel_reason",
        "body",
        "message",
        "text",
        "transcript",
        "address",
        "date_of_birth",
        "dob",
    }
)

REDACTED = "[redacted]"

# An e-mail address in every form the API accepts (anything@anything, `a@[10.1.2.3]` and
# `a@example.c` included): a run of non-space characters with an "@" inside. It starts only where a
# run starts, so a long run without "@" is scanned once, not from each of its characters.
_EMAIL = r"(?<![^\s@])[^\s@]+@(?P<domain>[^\s@]+)"
# Digits with the separators people type between them ("+1 (617) 555-0100", "617/555/0177",
# "617.555.0177"), whatever is written around them ("tel6175550177", "6175550177x"); seven digits
# or more make a phone number. Bounded, so each position costs a fixed amount.
_PHONE = r"\+?\(?\d[\d\s().\-/]{5,40}\d"
# Identifiers, timestamps and network addresses are not personal data and must survive intact:
# UUIDs, ISO dates and times, IPv4 addresses, and hexadecimal ids of 16 to 64 digits with a short
# prefix (correlation ids, Twilio's SM…). The upper bound keeps a long word from being backtracked
# over (without it a 32,000-character word took 100 ms).
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ISO_TIME = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_IPV4 = r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"
_HEX_ID = r"(?<!\w)(?=\w*[A-Za-z])[A-Za-z]{0,8}_?[0-9a-fA-F]{16,64}(?!\w)"
_NOT_PERSONAL = re.compile(f"{_UUID}|{_ISO_TIME}")
# One pass, left to right: at each position an e-mail first, then what must be kept, then a phone.
_TEXT = re.compile(f"(?P<email>{_EMAIL})|(?P<keep>{_UUID}|{_ISO_TIME}|{_IPV4}|{_HEX_ID})|(?P<phone>{_PHONE})")


def redact_phone(value: str, keep_last: int = 2) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return REDACTED
    kept = digits[len(digits) - keep_last :] if keep_last else ""
    return "+" * value.strip().startswith("+") + "*" * (len(digits) - len(kept)) + kept


def redact_email(value: str) -> str:
    match = re.fullmatch(_EMAIL, value.strip())
    return f"***@{match['domain']}" if match else REDACTED


def redact_text(value: str, keep_last: int = 2) -> str:
    """Mask phone numbers and e-mail addresses inside free text, keeping the last `keep_last` digits
    of a phone a person may need to tell two numbers apart (audit rows); logs keep none (0)."""

    def replace(match: re.Match[str]) -> str:
        if match["email"] is not None:
            return f"***@{match['domain']}"
        if match["keep"] is not None:
            return match["keep"]
        phone = match["phone"]
        return redact_phone(phone, keep_last) if sum(c.isdigit() for c in phone) >= 7 else phone

    return _TEXT.sub(replace, value)


def redact_for_log(value: str) -> str:
    """What a log line may show of `value`: no e-mail address and no digit of a phone number."""
    return redact_text(value, keep_last=0)


def redact(value: Any, key: str | None = None) -> Any:
    """Return a copy of `value` (JSON-like) with personal data masked."""
    field = key.lower() if key else None
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, key) for item in value]
    if not isinstance(value, str) or not value:
        return value
    if field in NAME_FIELDS or field in TEXT_FIELDS:
        return REDACTED
    if field in PHONE_FIELDS:
        return redact_phone(value)
    if field in EMAIL_FIELDS:
        return redact_email(value)
    if _NOT_PERSONAL.fullmatch(value):
        return value
    return redact_text(value)
