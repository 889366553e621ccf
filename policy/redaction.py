"""PII redaction for audit rows and logs.

Fields known to hold personal data are masked by name; every other string is scanned for phone
numbers and e-mail addresses, so PII pasted into free text (notes, messages) is caught as well.
What stays is enough to tell records apart (the last two digits of a phone, an e-mail's domain).
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

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# A run of 7+ digits, allowing the separators people type: +1 (555) 010-2030, 555.010.2030, ...
_PHONE = re.compile(r"(?<![\w:-])\+?\(?\d[\d\s().-]{5,24}\d(?![\w:])")
# Identifiers and timestamps are not personal data and must survive redaction intact.
_NOT_PERSONAL = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


def redact_phone(value: str, keep_last: int = 2) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return REDACTED
    kept = digits[len(digits) - keep_last :] if keep_last else ""
    return "+" * value.strip().startswith("+") + "*" * (len(digits) - len(kept)) + kept


def redact_email(value: str) -> str:
    match = _EMAIL.fullmatch(value.strip())
    return f"***@{match.group(1)}" if match else REDACTED


def redact_text(value: str, keep_last: int = 2) -> str:
    """Mask phone numbers and e-mail addresses inside free text (keeping the last digits a person
    may need to tell two numbers apart; logs keep none)."""
    value = _EMAIL.sub(lambda m: f"***@{m.group(1)}", value)
    return _PHONE.sub(lambda m: _mask_if_phone(m.group(0), keep_last), value)


def _mask_if_phone(candidate: str, keep_last: int) -> str:
    digits = re.sub(r"\D", "", candidate)
    if len(digits) < 7 or _NOT_PERSONAL.fullmatch(candidate.strip()):
        return candidate
    return redact_phone(candidate, keep_last)


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
