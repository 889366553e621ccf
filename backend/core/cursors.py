"""Opaque keyset cursors for lists ordered by (a time, an id): `a page after this row`, and the
newest-first page every such list uses."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from backend.core.errors import ValidationFailed
from backend.core.schemas import EARLIEST_DAY, LATEST_DAY

T = TypeVar("T")


def encode(at: datetime, row_id: uuid.UUID | int | str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode(cursor: str, field: str = "cursor") -> tuple[datetime, str]:
    """The (time, id) a cursor stands for; ValidationFailed when it is not one of ours (an edited
    one may hold anything: a naive or far-off time, a NUL)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|")
        moment = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValidationFailed(field, "not a cursor this API returned") from error
    if moment.tzinfo is None or not EARLIEST_DAY <= moment.date() <= LATEST_DAY or "\x00" in row_id:
        raise ValidationFailed(field, "not a cursor this API returned")
    return moment, row_id


def decode_uuid(cursor: str, field: str = "cursor") -> tuple[datetime, uuid.UUID]:
    at, row_id = decode(cursor, field)
    try:
        return at, uuid.UUID(row_id)
    except ValueError as error:
        raise ValidationFailed(field, "not a cursor this API returned") from error


async def newest_first(
    session: AsyncSession,
    query: Select[tuple[T]],
    at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[Any],
    *,
    limit: int,
    cursor: str | None,
    uuid_ids: bool = True,
) -> tuple[list[T], str | None]:
    """One page of `query` ordered by (at, id) descending, after the row `cursor` names; and the
    cursor of the next page (None on the last)."""
    if cursor is not None:
        before_at, before_id = decode_uuid(cursor) if uuid_ids else decode(cursor)
        query = query.where((at < before_at) | ((at == before_at) & (row_id < before_id)))
    rows = list(await session.scalars(query.order_by(at.desc(), row_id.desc()).limit(limit + 1)))
    page = rows[:limit]
    if len(rows) <= limit:
        return page, None
    last = page[-1]
    return page, encode(getattr(last, at.key), getattr(last, row_id.key))
