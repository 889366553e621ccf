"""Holds and appointments: the booking flow of the public API."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import metrics
from backend.core.commands import IDEMPOTENCY_HEADER, Work, run_command
from backend.core.context import Caller
from backend.core.deps import Db, Now
from backend.core.errors import AppError, ValidationFailed
from backend.core.schemas import Day
from backend.scheduling import appointment_lists, attendance, booking, guards, holds, precheck
from backend.scheduling.presenters import appointment_out, hold_out
from backend.scheduling.schemas import (
    AppointmentOut,
    AppointmentPage,
    BookingCreate,
    CancelIn,
    HoldConfirm,
    HoldCreate,
    HoldOut,
    HoldRelease,
    RescheduleIn,
)
from backend.scheduling.slots import to_utc
from backend.tenants.deps import TenantCaller

router = APIRouter(prefix="/api/v1", tags=["bookings"])

Status = Literal["booked", "confirmed", "cancelled", "completed", "no_show"]


async def _booking_write(
    request: Request, caller: Caller, work: Work, status_code: int, gate: int | None = None
) -> JSONResponse:
    try:
        response = await run_command(
            request,
            str(caller.tenant.id),
            work,
            status_code=status_code,
            isolation="SERIALIZABLE",
            gate=guards.writer_gate(caller.tenant.id) if gate is None else gate,
        )
    except AppError as error:
        metrics.BOOKINGS.labels(error.code.lower()).inc()
        raise
    metrics.BOOKINGS.labels("ok").inc()
    return response


@router.post("/holds", status_code=201, response_model=HoldOut)
async def create_hold(body: HoldCreate, caller: TenantCaller, request: Request, now: Now) -> JSONResponse:
    """Reserve a time for a few minutes (tenant setting) while the patient's details are collected."""

    async def work(session: AsyncSession) -> HoldOut:
        return hold_out(await holds.create_hold(session, caller, body, now), caller.tenant)

    return await _booking_write(request, caller, work, 201)


@router.get("/holds/{hold_id}", response_model=HoldOut)
async def get_hold(hold_id: uuid.UUID, caller: TenantCaller, db: Db) -> HoldOut:
    async def work(session: AsyncSession) -> HoldOut:
        return hold_out(await holds.get_hold(session, caller.tenant, hold_id), caller.tenant)

    return await db.transaction(work)


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
async def release_hold(
    hold_id: uuid.UUID, body: HoldRelease, caller: TenantCaller, request: Request
) -> JSONResponse:
    """Give a held time back before it expires (the patient changed their mind)."""

    async def work(session: AsyncSession) -> HoldOut:
        hold = await holds.release_hold(session, caller, hold_id, body.session_key)
        return hold_out(hold, caller.tenant)

    return await _booking_write(request, caller, work, 200)


@router.post("/holds/{hold_id}/confirm", status_code=201, response_model=AppointmentOut)
async def confirm_hold(
    hold_id: uuid.UUID, body: HoldConfirm, caller: TenantCaller, request: Request, now: Now
) -> JSONResponse:
    """Turn your own unexpired hold into an appointment."""

    async def work(session: AsyncSession) -> AppointmentOut:
        appointment = await booking.confirm_hold(session, caller, hold_id, body, now)
        return appointment_out(appointment, caller.tenant)

    return await _booking_write(request, caller, work, 201)


@router.post("/bookings", status_code=201, response_model=AppointmentOut)
async def create_booking(
    body: BookingCreate, caller: TenantCaller, request: Request, db: Db, now: Now
) -> JSONResponse:
    """Book a time directly (hold and confirm in one step)."""
    if IDEMPOTENCY_HEADER not in request.headers:
        # With a key, a retry of a booking that went through must replay it, not find its own slot taken.
        try:
            await db.transaction(
                lambda session: precheck.refuse_if_taken(
                    session, caller.tenant, body.service_id, body.provider_id, body.starts_at, now
                )
            )
        except AppError as refusal:
            metrics.BOOKINGS.labels(refusal.code.lower()).inc()
            raise

    async def work(session: AsyncSession) -> AppointmentOut:
        return appointment_out(await booking.book(session, caller, body, now), caller.tenant)

    return await _booking_write(request, caller, work, 201, booking.gate_for_booking(caller.tenant, body))


@router.get("/bookings", response_model=AppointmentPage)
async def list_bookings(
    caller: TenantCaller,
    db: Db,
    start: Annotated[Day | None, Query(alias="from", description="First local day, inclusive")] = None,
    end: Annotated[Day | None, Query(alias="to", description="Last local day, inclusive")] = None,
    status: Annotated[list[Status] | None, Query(description="Repeat to match several")] = None,
    customer_id: uuid.UUID | None = None,
    phone: Annotated[str | None, Query(max_length=32)] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AppointmentPage:
    if start and end and end < start:
        raise ValidationFailed("to", "the end date must not be before the start date")
    tz = caller.tenant.timezone
    after = to_utc(datetime.combine(start, time.min), tz) if start else None
    before = to_utc(datetime.combine(end + timedelta(days=1), time.min), tz) if end else None

    async def work(session: AsyncSession) -> AppointmentPage:
        items, next_cursor = await appointment_lists.list_appointments(
            session,
            caller.tenant,
            start=after,
            end=before,
            statuses=list(status or []),
            customer_id=customer_id,
            phone=phone,
            email=email,
            limit=limit,
            cursor=cursor,
        )
        return AppointmentPage(
            items=[appointment_out(a, caller.tenant) for a in items], next_cursor=next_cursor
        )

    return await db.transaction(work)


@router.get("/bookings/{ident}", response_model=AppointmentOut)
async def get_booking(ident: str, caller: TenantCaller, db: Db) -> AppointmentOut:
    """An appointment by id or by its reference code."""

    async def work(session: AsyncSession) -> AppointmentOut:
        return appointment_out(await booking.get_appointment(session, caller.tenant, ident), caller.tenant)

    return await db.transaction(work)


@router.post("/bookings/{ident}/reschedule", response_model=AppointmentOut)
async def reschedule_booking(
    ident: str, body: RescheduleIn, caller: TenantCaller, request: Request, now: Now
) -> JSONResponse:
    """Move an appointment atomically: the old time is only freed if the new one is taken."""

    async def work(session: AsyncSession) -> AppointmentOut:
        return appointment_out(await booking.reschedule(session, caller, ident, body, now), caller.tenant)

    return await _booking_write(request, caller, work, 200)


@router.post("/bookings/{ident}/cancel", response_model=AppointmentOut)
async def cancel_booking(
    ident: str, body: CancelIn, caller: TenantCaller, request: Request, now: Now
) -> JSONResponse:
    async def work(session: AsyncSession) -> AppointmentOut:
        return appointment_out(await booking.cancel(session, caller, ident, body, now), caller.tenant)

    return await _booking_write(request, caller, work, 200)


@router.post("/bookings/{ident}/complete", response_model=AppointmentOut)
async def complete_booking(ident: str, caller: TenantCaller, request: Request, now: Now) -> JSONResponse:
    """The patient came. With a review link in the settings, a review request follows later."""
    return await _record_attendance(ident, "completed", caller, request, now)


@router.post("/bookings/{ident}/no-show", response_model=AppointmentOut)
async def no_show_booking(ident: str, caller: TenantCaller, request: Request, now: Now) -> JSONResponse:
    """The patient did not come: they get a message inviting them to book again."""
    return await _record_attendance(ident, "no_show", caller, request, now)


async def _record_attendance(
    ident: str, outcome: Literal["completed", "no_show"], caller: Caller, request: Request, now: datetime
) -> JSONResponse:
    async def work(session: AsyncSession) -> AppointmentOut:
        appointment = await attendance.record_attendance(session, caller, ident, outcome, now)
        return appointment_out(appointment, caller.tenant)

    return await _booking_write(request, caller, work, 200)
