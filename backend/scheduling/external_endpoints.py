"""The API for appointments from the clinic's own system: upsert, read and cancel one by its id
there, import many (NDJSON or a JSON array, or a CSV file with a preview), and the conflicts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.bodies import read_limited
from backend.core.context import Caller
from backend.core.deps import AppSettings, Db, Now
from backend.core.schemas import ExternalKey, Moment, SourceName, error_responses
from backend.scheduling import external, external_bulk, external_csv, external_rows, external_writes
from backend.scheduling.external_rows import Incoming
from backend.scheduling.external_schemas import (
    BookingConflictOut,
    BulkOut,
    CsvIn,
    CsvPreviewOut,
    CsvPreviewRow,
    ExternalAppointmentIn,
    ExternalAppointmentOut,
    ExternalAppointmentState,
    ExternalRowIn,
)
from backend.scheduling.presenters import appointment_out
from backend.tenants.deps import OwnerCaller, TenantCaller

router = APIRouter(prefix="/api/v1", tags=["appointments from your system"])

ONE = "/external-appointments/{source}/{external_id}"
Source = Annotated[SourceName, Path(description="Your system's name, e.g. `practice-pms`")]
TheirId = Annotated[ExternalKey, Path(description="Your system's id for the appointment")]
PREVIEW_LINES = 50


def _out(outcome: external.Outcome, caller: Caller) -> dict[str, Any]:
    return ExternalAppointmentOut(
        result=outcome.result,  # type: ignore[arg-type]
        conflicts_with=outcome.conflicts_with,
        appointment=appointment_out(outcome.appointment, caller.tenant),
    ).model_dump(mode="json")


@router.put(
    ONE,
    response_model=ExternalAppointmentOut,
    responses={201: {"model": ExternalAppointmentOut}, **error_responses(401, 403, 409, 422)},
)
async def upsert(
    source: Source, external_id: TheirId, body: ExternalAppointmentIn, caller: TenantCaller, db: Db, now: Now
) -> JSONResponse:
    """Create or update an appointment your system made (201 when new). Your system decides: opening
    hours, lead time and the booking window do not refuse it, and over a time already taken it is
    stored anyway, flagged as a conflict (`conflicts_with`). Send `version` or `updated_at`: an
    update older than the one stored is answered `stale` and changes nothing. `status: cancelled`
    cancels it; `completed` / `no_show` record the visit."""
    incoming = Incoming(0, source, external_id, body)

    async def work(session: AsyncSession) -> external.Outcome:
        [spec] = await external_rows.resolve(session, caller.tenant, [incoming])
        if isinstance(spec, Exception):
            raise spec
        return await external.upsert(session, caller, spec, now)

    outcome = await db.transaction(work, isolation="SERIALIZABLE", gate=external.gate(caller.tenant.id))
    return JSONResponse(_out(outcome, caller), status_code=201 if outcome.result == "created" else 200)


@router.get(ONE, response_model=ExternalAppointmentState, responses=error_responses(401, 403, 404, 422))
async def read(
    source: Source, external_id: TheirId, caller: TenantCaller, db: Db
) -> ExternalAppointmentState:
    async def work(session: AsyncSession) -> ExternalAppointmentState:
        found = await external.get(session, caller.tenant, source, external_id)
        return ExternalAppointmentState(
            conflicts_with=found.conflicts_with, appointment=appointment_out(found.appointment, caller.tenant)
        )

    return await db.transaction(work)


@router.delete(ONE, response_model=ExternalAppointmentOut, responses=error_responses(401, 403, 404, 409, 422))
async def cancel(
    source: Source,
    external_id: TheirId,
    caller: TenantCaller,
    db: Db,
    now: Now,
    version: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    updated_at: Annotated[Moment | None, Query()] = None,
) -> dict[str, Any]:
    """It was cancelled (or deleted) in your system: cancelled here, with the patient's messages
    withdrawn and the time offered to the waiting list. With `version` or `updated_at`, a cancellation
    older than the update stored is `stale` and ignored."""

    async def work(session: AsyncSession) -> external.Outcome:
        return await external.cancel(session, caller, source, external_id, version, updated_at, now)

    outcome = await db.transaction(work, isolation="SERIALIZABLE", gate=external.gate(caller.tenant.id))
    return _out(outcome, caller)


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its definitions written in place (these bodies are read by the
    endpoint itself, within a size limit, so FastAPI does not list their models)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


def _body(schema: dict[str, Any], *, ndjson: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if ndjson:
        content["application/x-ndjson"] = {"schema": {"type": "string", "description": "One row a line"}}
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "/external-appointments:bulk",
    response_model=BulkOut,
    responses=error_responses(401, 403, 413, 422),
    openapi_extra=_body(
        {"type": "array", "minItems": 1, "maxItems": external_bulk.MAX_ROWS, "items": _schema(ExternalRowIn)},
        ndjson=True,
    ),
)
async def bulk(request: Request, caller: OwnerCaller, settings: AppSettings, now: Now) -> BulkOut:
    """Up to 10,000 appointments (each as for the upsert, with `source` and `external_id`) as a JSON
    array or NDJSON (`Content-Type: application/x-ndjson`), written in chunks; a result for every
    row, in order. A row that cannot be written gets its error and nothing of it is written; the
    others are. Sending the same rows again changes nothing."""
    body = await read_limited(request, settings.external_import_max_bytes)
    parsed = external_bulk.parse(body, request.headers.get("content-type", ""))
    return await external_bulk.run(
        request.app.state.db, caller, parsed, now, settings.external_import_chunk_rows
    )


async def _csv(
    request: Request, caller: Caller, settings: Any, now: datetime
) -> tuple[external_csv.Catalogue, external_csv.CsvFile]:
    """The CSV body read (within the size limit) and checked; and how it names providers."""
    body = await read_limited(request, settings.external_import_max_bytes)
    try:
        data = CsvIn.model_validate_json(body)
    except ValidationError as error:
        raise external_bulk.invalid(error) from error
    db = request.app.state.db
    names = await db.transaction(lambda session: external_csv.catalogue(session, caller.tenant, data.source))
    return names, external_csv.read(
        data.csv, data.source, data.mapping, caller.tenant, names, now, data.date_order
    )


@router.post(
    "/external-appointments:csv-preview",
    response_model=CsvPreviewOut,
    responses=error_responses(401, 403, 413, 422),
    openapi_extra=_body(_schema(CsvIn)),
)
async def csv_preview(
    request: Request, caller: OwnerCaller, settings: AppSettings, now: Now
) -> CsvPreviewOut:
    """Read a CSV file without importing it: its columns, the mapping (guessed from the headings
    unless given), and each line's problems."""
    names, read = await _csv(request, caller, settings, now)
    shown: list[CsvPreviewRow] = []
    valid = 0
    for row in read.rows:
        if row.error is None:
            valid += 1
            if valid > PREVIEW_LINES:
                continue
        shown.append(_preview(row, caller, names))
    return CsvPreviewOut(
        columns=read.columns, mapping=read.mapping, rows=len(read.rows), valid=valid, lines=shown
    )


def _preview(row: external_bulk.Parsed, caller: Caller, names: external_csv.Catalogue) -> CsvPreviewRow:
    if row.row is None:
        problems = row.error.details.get("errors", []) if row.error else []
        errors = [f"{p['field']}: {p['message']}" for p in problems] or [
            row.error.message if row.error else ""
        ]
        return CsvPreviewRow(
            line=row.index,
            external_id=row.external_id,
            starts_at=None,
            provider=None,
            patient=None,
            errors=errors,
        )
    data = row.row.data
    return CsvPreviewRow(
        line=row.index,
        external_id=row.external_id,
        starts_at=data.starts_at.astimezone(caller.tenant.timezone),
        provider=names.names.get(str(data.provider_id or data.provider_external_id)),
        patient=data.customer.name,
        errors=[],
    )


@router.post(
    "/external-appointments:csv-import",
    response_model=BulkOut,
    responses=error_responses(401, 403, 413, 422),
    openapi_extra=_body(_schema(CsvIn)),
)
async def csv_import(request: Request, caller: OwnerCaller, settings: AppSettings, now: Now) -> BulkOut:
    """Import a CSV file: the lines without problems are written (each result's `index` is its line),
    the others are reported and nothing of them is written. Importing the same file again changes
    nothing."""
    _, read = await _csv(request, caller, settings, now)
    return await external_bulk.run(
        request.app.state.db, caller, read.rows, now, settings.external_import_chunk_rows
    )


@router.get(
    "/booking-conflicts", response_model=list[BookingConflictOut], responses=error_responses(401, 403)
)
async def conflicts(caller: TenantCaller, db: Db, now: Now) -> list[BookingConflictOut]:
    """Upcoming appointments from your system stored over a time already taken, with what they
    overlap: move or cancel one of them (here or there)."""

    async def work(session: AsyncSession) -> list[BookingConflictOut]:
        found = await external_writes.open_conflicts(session, caller.tenant, now)
        tenant = caller.tenant
        return [
            BookingConflictOut(
                appointment=appointment_out(a, tenant), overlaps=[appointment_out(o, tenant) for o in others]
            )
            for a, others in found
        ]

    return await db.transaction(work)
