"""Many appointments from the clinic's own system at once: rows read from NDJSON or a JSON array
(or a CSV file, `external_csv`), checked one by one, written a chunk per transaction, and a result
for every row. A row is written whole or not at all; re-sending the same rows changes nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import log_rows
from backend.core.bodies import PayloadTooLarge
from backend.core.context import Caller
from backend.core.db import Database
from backend.core.errors import AppError, ValidationFailed
from backend.core.schemas import ErrorDetail
from backend.scheduling import external, external_rows
from backend.scheduling.external_rows import Incoming
from backend.scheduling.external_schemas import BulkOut, ExternalRowIn, RowResult

MAX_ROWS = 10_000


@dataclass(frozen=True)
class Parsed:
    """A row as read: the appointment, or why it cannot be one."""

    index: int
    row: Incoming | None = None
    error: AppError | None = None
    source: str | None = None
    external_id: str | None = None


def invalid(error: ValidationError, prefix: str = "") -> ValidationFailed:
    """A pydantic error as our 422, every problem listed with its field."""
    problems = [
        {
            "field": prefix + ".".join(str(part) for part in item["loc"]),
            "message": item["msg"].removeprefix("Value error, "),
        }
        for item in error.errors()
    ]
    first = problems[0]
    failed = ValidationFailed(first["field"], first["message"])
    failed.message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    failed.details = {"errors": problems}
    return failed


def checked(index: int, value: object) -> Parsed:
    """One decoded row, validated."""
    try:
        row = ExternalRowIn.model_validate(value)
    except ValidationError as error:
        fields = value if isinstance(value, dict) else {}
        return Parsed(
            index,
            error=invalid(error),
            source=_text(fields, "source"),
            external_id=_text(fields, "external_id"),
        )
    return Parsed(index, Incoming(index, row.source, row.external_id, row), None, row.source, row.external_id)


def _text(fields: dict[str, Any], name: str) -> str | None:
    """The row's own words for a field, to name it in the results even when they are wrong."""
    value = fields.get(name)
    return str(value)[:200] if isinstance(value, str | int) else None


def parse(body: bytes, content_type: str) -> list[Parsed]:
    """NDJSON (one object a line; a line that is not JSON is that row's error) or a JSON array."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationFailed("body", f"the body is not UTF-8 (byte {error.start})") from error
    if "ndjson" in content_type or "jsonl" in content_type:
        lines = [line for line in text.splitlines() if line.strip()]
        _at_most(len(lines))
        return [_line(index, line) for index, line in enumerate(lines)]
    try:
        rows = json.loads(text)
    except ValueError as error:
        raise ValidationFailed("body", f"not JSON: {error}") from error
    if not isinstance(rows, list):
        raise ValidationFailed("body", "send a JSON array of appointments, or NDJSON (one a line)")
    _at_most(len(rows))
    return [checked(index, value) for index, value in enumerate(rows)]


def _line(index: int, line: str) -> Parsed:
    try:
        value = json.loads(line)
    except ValueError as error:
        return Parsed(index, error=ValidationFailed("body", f"row {index} is not JSON: {error}"))
    return checked(index, value)


def _at_most(count: int) -> None:
    if count > MAX_ROWS:
        raise PayloadTooLarge(
            f"{count:,} rows: send at most {MAX_ROWS:,} in one request", details={"max_rows": MAX_ROWS}
        )
    if count == 0:
        raise ValidationFailed("body", "no appointments in the body")


async def run(
    db: Database, caller: Caller, parsed: Sequence[Parsed], now: datetime, chunk_rows: int
) -> BulkOut:
    """Write the rows that parsed, a chunk per transaction; a result for every row, in order."""
    results = {p.index: failed(p.index, p.error, p.source, p.external_id) for p in parsed if p.error}
    rows = [p.row for p in parsed if p.row is not None]
    for chunk in _chunks(rows, chunk_rows):

        async def work(session: AsyncSession, chunk: list[Incoming] = chunk) -> list[RowResult]:
            return await _write(session, caller, chunk, now)

        written = await db.transaction(work, isolation="SERIALIZABLE", gate=external.gate(caller.tenant.id))
        results.update((r.index, r) for r in written)
    ordered = [results[p.index] for p in parsed]
    return BulkOut(counts=dict(Counter(r.result for r in ordered)), results=ordered)


def _chunks(rows: list[Incoming], size: int) -> Iterator[list[Incoming]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def _write(
    session: AsyncSession, caller: Caller, chunk: list[Incoming], now: datetime
) -> list[RowResult]:
    specs = await external_rows.resolve(session, caller.tenant, chunk)
    out = []
    for row, spec in zip(chunk, specs, strict=True):
        if isinstance(spec, AppError):
            out.append(failed(row.index, spec, row.source, row.external_id))
            continue
        try:
            async with log_rows.savepoint(session):
                outcome = await external.upsert(session, caller, spec, now)
                await session.flush()  # this row's changes inside its own savepoint
        except AppError as error:
            out.append(failed(row.index, error, row.source, row.external_id))
            continue
        appointment = outcome.appointment
        out.append(
            RowResult(
                index=row.index,
                source=row.source,
                external_id=row.external_id,
                result=outcome.result,  # type: ignore[arg-type]
                appointment_id=appointment.id,
                reference=appointment.reference,
                conflicts_with=outcome.conflicts_with,
            )
        )
    return out


def failed(index: int, error: AppError | None, source: str | None, external_id: str | None) -> RowResult:
    assert error is not None
    detail = ErrorDetail(
        code=error.code, message=error.message, details=error.details, retryable=error.retryable
    )
    return RowResult(index=index, source=source, external_id=external_id, result="error", error=detail)
