"""Outbound: bookings written to the provider's chosen calendar, moved on reschedule, deleted on
cancel, from the durable queue in PostgreSQL (`push_queue`).

A push that fails is tried again after 30 s, 120 s and 480 s (settings); after the last, the
queue row is marked failed and staff are told, with an event for the clinic's systems. The event
says no more about the patient than the clinic allows (`calendar_event_detail`: by default the
service and the patient's first name).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from icalendar import Calendar, Event, Timezone
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars.accounts import open_account
from backend.calendars.busy_time import OWN_GOOGLE_PROPERTY, OWN_UID_SUFFIX
from backend.calendars.caldav_account import CalDavAccount
from backend.calendars.models import CalendarConnection, CalendarEventLink, CalendarPush, CalendarSource
from backend.calendars.remote import CalendarBroken, CalendarUnavailable
from backend.core import events
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.event_catalogue import CalendarSyncFailed
from backend.core.settings import Settings
from backend.messaging import staff_alerts
from backend.scheduling import booking
from backend.tenants import service as tenants

if TYPE_CHECKING:
    from backend.scheduling.models import Appointment

log = logging.getLogger("frontdesk.calendars")

WORKER = "worker"
# A claimed push is someone's for this long; a worker that dies mid-push leaves it due again after.
LEASE = timedelta(minutes=5)
BATCH = 20
ON_CALENDAR = ("booked", "confirmed")


@dataclass(frozen=True)
class Target:
    source_id: uuid.UUID
    calendar_id: str
    connection: CalendarConnection


@dataclass(frozen=True)
class Plan:
    push_id: uuid.UUID
    tenant: TenantContext
    appointment_id: uuid.UUID
    provider_id: uuid.UUID
    write_to: Target | None
    body: dict[str, Any]
    remove_from: Target | None
    remove_id: str | None


class CalendarPusher:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    async def push_due(self, now: datetime) -> int:
        claimed = await self._db.transaction(lambda s: _claim(s, now))
        for push_id in claimed:
            await self.push(push_id, now)
        return len(claimed)

    async def push(self, push_id: uuid.UUID, now: datetime) -> None:
        plan = await self._db.transaction(lambda s: _plan(s, push_id, now))
        if plan is None:
            return
        try:
            written = await asyncio.to_thread(self._perform, plan)
        except (CalendarBroken, CalendarUnavailable) as problem:
            error = str(problem)[:500]
            await self._db.transaction(lambda s: self._failed(s, plan, error, now))
            return
        await self._db.transaction(lambda s: _done(s, plan, written))

    def _perform(self, plan: Plan) -> str | None:
        """The remote work; the external id written, if any."""
        ring = self._settings.key_ring
        if plan.remove_from is not None and plan.remove_id is not None:
            account = open_account(self._settings, ring, plan.remove_from.connection)
            if isinstance(account, CalDavAccount):
                account.delete(plan.remove_id)
            else:
                account.delete_event(plan.remove_from.calendar_id, plan.remove_id)
        if plan.write_to is None:
            return None
        account = open_account(self._settings, ring, plan.write_to.connection)
        if isinstance(account, CalDavAccount):
            return account.put(plan.write_to.calendar_id, plan.appointment_id.hex, _ics(plan))
        event_id = plan.appointment_id.hex
        account.put_event(plan.write_to.calendar_id, event_id, _google_body(plan))
        return event_id

    async def _failed(self, session: AsyncSession, plan: Plan, error: str, now: datetime) -> None:
        push = await session.get_one(CalendarPush, plan.push_id, with_for_update=True)
        schedule = self._settings.calendar_retry_schedule_seconds
        push.attempts += 1
        push.last_error = error
        if push.attempts <= len(schedule):
            push.next_attempt_at = now + timedelta(seconds=schedule[push.attempts - 1])
            log.warning(
                "writing a booking to a calendar failed (attempt %d), will retry: %s", push.attempts, error
            )
            return
        push.state = "failed"
        target = plan.write_to or plan.remove_from
        assert target is not None
        caller = Caller(plan.tenant, WORKER, f"calendar:{target.connection.id}")
        events.emit(
            session,
            caller,
            CalendarSyncFailed(
                calendar_connection_id=target.connection.id,
                provider_id=plan.provider_id,
                failure="booking_not_written",
                appointment_id=plan.appointment_id,
                error=error,
            ),
        )
        await staff_alerts.tell_staff(
            session,
            caller,
            kind="calendar_push_failed",
            subject="a booking could not be written to a provider's calendar",
            body=(
                f"Frontdesk tried {push.attempts} times to update the {target.connection.kind} calendar "
                f"connected as {target.connection.account} and gave up: {error}\n\n"
                "The booking itself is safe in Frontdesk; the provider's own calendar does not show it."
            ),
            dedupe_key=f"calendar_push_failed:{push.id}",
            now=now,
            see="Calendars",
        )


async def _claim(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    due = (
        select(CalendarPush.id)
        .where(CalendarPush.state == "pending", CalendarPush.next_attempt_at <= now)
        .order_by(CalendarPush.next_attempt_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    claimed = list((await session.execute(due)).scalars())
    if claimed:
        await session.execute(
            update(CalendarPush).where(CalendarPush.id.in_(claimed)).values(next_attempt_at=now + LEASE)
        )
    return claimed


async def _plan(session: AsyncSession, push_id: uuid.UUID, now: datetime) -> Plan | None:
    push = await session.get(CalendarPush, push_id)
    if push is None or push.state != "pending":
        return None
    tenant = await tenants.get_context(session, push.tenant_id)
    appointment = await booking.get_appointment(session, tenant, str(push.appointment_id))
    receiver = await _receiver(session, appointment.provider_id)
    link = await session.get(CalendarEventLink, appointment.id)
    if appointment.status in ("completed", "no_show"):
        receiver = None  # it happened: its event stays as it is
        link = None
    elif appointment.status not in ON_CALENDAR:
        receiver = None
    moved_away = link is not None and (receiver is None or receiver.source_id != link.source_id)
    remove_from = await _target(session, CalendarSource.id == link.source_id) if link and moved_away else None
    return Plan(
        push_id=push.id,
        tenant=tenant,
        appointment_id=appointment.id,
        provider_id=appointment.provider_id,
        write_to=receiver,
        body=_content(tenant, appointment, now),
        remove_from=remove_from,
        remove_id=link.external_id if link and moved_away else None,
    )


async def _receiver(session: AsyncSession, provider_id: uuid.UUID) -> Target | None:
    """The calendar receiving the provider's bookings, if they chose one."""
    return await _target(session, CalendarSource.provider_id == provider_id, CalendarSource.receives_bookings)


async def _target(session: AsyncSession, *where: ColumnElement[bool]) -> Target | None:
    row = (
        await session.execute(
            select(CalendarSource, CalendarConnection)
            .join(CalendarConnection, CalendarConnection.id == CalendarSource.connection_id)
            .where(*where)
        )
    ).first()
    if row is None:
        return None
    source, connection = row
    return Target(source.id, source.external_id, connection)


async def _done(session: AsyncSession, plan: Plan, written: str | None) -> None:
    await session.execute(
        update(CalendarPush).where(CalendarPush.id == plan.push_id).values(state="done", last_error=None)
    )
    if plan.write_to is not None and written is not None:
        link = insert(CalendarEventLink).values(
            appointment_id=plan.appointment_id,
            tenant_id=plan.tenant.id,
            source_id=plan.write_to.source_id,
            external_id=written,
        )
        await session.execute(
            link.on_conflict_do_update(
                index_elements=["appointment_id"],
                set_={"source_id": link.excluded.source_id, "external_id": link.excluded.external_id},
            )
        )
    elif plan.remove_from is not None:
        await session.execute(
            CalendarEventLink.__table__.delete().where(
                CalendarEventLink.appointment_id == plan.appointment_id
            )
        )


def _content(tenant: TenantContext, appointment: Appointment, now: datetime) -> dict[str, Any]:
    detail = tenant.settings.calendar_event_detail
    name = appointment.customer.name.strip()
    who = {
        "service": "",
        "service_and_first_name": name.split()[0] if name else "",
        "service_and_full_name": name,
    }
    summary = appointment.service.name + (f" \u2013 {who[detail]}" if who[detail] else "")
    return {
        "summary": summary,
        "description": f"Booked through Frontdesk. Reference {appointment.reference}.",
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "stamp": now,
    }


def _ics(plan: Plan) -> str:
    tz = plan.tenant.timezone
    calendar = Calendar()
    calendar.add("PRODID", "-//Frontdesk//bookings//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(Timezone.from_tzid(plan.tenant.timezone_name))
    event = Event()
    event.add("UID", f"{plan.appointment_id}{OWN_UID_SUFFIX}")
    event.add("DTSTAMP", plan.body["stamp"])
    event.add("DTSTART", plan.body["starts_at"].astimezone(tz))
    event.add("DTEND", plan.body["ends_at"].astimezone(tz))
    event.add("SUMMARY", plan.body["summary"])
    event.add("DESCRIPTION", plan.body["description"])
    event.add("TRANSP", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def _google_body(plan: Plan) -> dict[str, Any]:
    tz = plan.tenant.timezone
    return {
        "summary": plan.body["summary"],
        "description": plan.body["description"],
        "start": {
            "dateTime": plan.body["starts_at"].astimezone(tz).isoformat(),
            "timeZone": plan.tenant.timezone_name,
        },
        "end": {
            "dateTime": plan.body["ends_at"].astimezone(tz).isoformat(),
            "timeZone": plan.tenant.timezone_name,
        },
        "transparency": "opaque",
        "extendedProperties": {"private": {OWN_GOOGLE_PROPERTY: str(plan.appointment_id)}},
    }
