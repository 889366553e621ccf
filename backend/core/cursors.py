"""Opaque keyset cursors for lists ordered by (a time, an id): `a page after this row`."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from backend.core.errors import ValidationFailed


def encode(at: datetime, row_id: uuid.UUID | int | str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode(cursor: str, field: str = "cursor") -> tuple[datetime, str]:
    """The (time, id) a cursor stands for; ValidationFailed when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|")
        return datetime.fromisoformat(at), row_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValidationFailed(field, "not a cursor this API returned") from error


def decode_uuid(cursor: str, field: str = "cursor") -> tuple[datetime, uuid.UUID]:
    at, row_id = decode(cursor, field)
    try:
        return at, uuid.UUID(row_id)
    except ValueError as error:
        raise ValidationFailed(field, "not a cursor this API returned") from error
