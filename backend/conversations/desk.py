"""The practice's front desk as the agent sees it: `agent.ports.Desk`, bound to one conversation.

Each method is one transaction through the same services the REST API uses (booking writes under
SERIALIZABLE behind the tenant's writer gate), acting as "conversation:<id>" in the audit log.
Service errors become `ToolFailure`s with the same codes the API returns. Policy and triage
decisions are audited in the turn's next committed transaction, not one of their own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.ports import (
    BookingInfo,
    Contact,
    HoldInfo,
    ServiceInfo,
    SlotInfo,
    ToolFailure,
    WaitlistInfo,
)
from agent.replies import when_label
from agent.safety import ClinicAlerted
from backend.conversations import alerts
from backend.conversations import service as conversation_store
from backend.conversations.practice_info import service_info
from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.db import Database, Isolation
from backend.core.errors import AppError, NotFound, SlotUnavailable
from backend.core.schemas import EMAIL_PATTERN
from backend.customers import service as customers
from backend.customers.schemas import CustomerIn
from backend.scheduling import appointment_lists, availability, booking, catalog, guards, holds, waitlist
from backend.scheduling.schemas import CancelIn, HoldConfirm, HoldCreate, RescheduleIn
from policy.engine import BookingFacts, Decision, ToolCall

if TYPE_CHECKING:
    from backend.scheduling.models import Appointment

T = TypeVar("T")
_EMAIL = re.compile(EMAIL_PATTERN)
_REFERENCE = re.compile(f"[{booking.REFERENCE_ALPHABET}]{{{booking.REFERENCE_LENGTH}}}")


class PracticeDesk:
    def __init__(
        self,
        db: Database,
        caller: Caller,
        conversation_id: uuid.UUID,
        now: datetime,
        alarm: alerts.ClinicAlarm,
    ) -> None:
        self.db = db
        self.alarm = alarm
        self.caller = caller
        self.tenant = caller.tenant
        self.conversation_id = conversation_id
        self.owner = f"conversation:{conversation_id}"
        self.now = now
        # Audit rows (action, entity type, entity id, details) not yet committed: they go in the
        # next transaction this turn commits, a tool's or the turn's last, rather than one each.
        self._unaudited: list[tuple[str, str, object, dict]] = []

    def audit_pending(self, session: AsyncSession) -> None:
        """Add the decisions recorded since the last commit to `session`'s transaction; the caller
        commits it, then calls `audited`."""
        for action, entity_type, entity_id, details in self._unaudited:
            audit.record(session, self.caller, action, entity_type, entity_id, details)

    def audited(self) -> None:
        self._unaudited.clear()

    async def _transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self._run(work, "READ COMMITTED", None)

    async def _booking_write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return await self._run(work, "SERIALIZABLE", guards.writer_gate(self.tenant.id))

    async def _run(
        self, work: Callable[[AsyncSession], Awaitable[T]], isolation: Isolation, gate: int | None
    ) -> T:
        async def with_audit(session: AsyncSession) -> T:
            self.audit_pending(session)
            return await work(session)

        try:
            result = await self.db.transaction(with_audit, isolation=isolation, gate=gate)
        except AppError as error:
            raise ToolFailure(error.code, error.message) from error
        self.audited()
        return result

    # ---- reading ----

    async def list_services(self) -> list[ServiceInfo]:
        async def work(session: AsyncSession) -> list[ServiceInfo]:
            services, _ = await catalog.list_services(session, self.tenant)
            return [service_info(s) for s in services]

        return await self._transaction(work)

    async def find_slots(self, service_id: str, first_day: date, last_day: date) -> list[SlotInfo]:
        service_uuid = _uuid(service_id, "service")

        async def work(session: AsyncSession) -> list[SlotInfo]:
            try:
                _, _, slots = await availability.find_slots(
                    session, self.tenant, service_uuid, first_day, last_day, self.now, owner=self.owner
                )
            except NotFound:
                services, _ = await catalog.list_services(session, self.tenant, with_inactive=True)
                if any(s.id == service_uuid for s in services):  # a booking's, not offered any more
                    raise SlotUnavailable(
                        "this kind of appointment isn't booked here, so the team changes it: "
                        "ask to talk to a person"
                    ) from None
                raise
            return [SlotInfo(s.starts_at, str(s.provider.id), s.provider.name) for s in slots]

        return await self._transaction(work)

    async def booking_facts(self, reference: str) -> BookingFacts | None:
        if not _REFERENCE.fullmatch(reference):
            return None

        async def work(session: AsyncSession) -> BookingFacts | None:
            try:
                found = await booking.get_appointment(session, self.tenant, reference)
            except NotFound:
                return None
            customer = found.customer
            return BookingFacts(
                found.reference,
                str(customer.id),
                customer.phone,
                customer.email,
                service_name=found.service.name,
                starts_at=found.starts_at,
            )

        return await self._transaction(work)

    async def get_booking(self, reference: str) -> BookingInfo:
        async def work(session: AsyncSession) -> BookingInfo:
            return _booking_info(await booking.get_appointment(session, self.tenant, reference))

        return await self._transaction(work)

    async def upcoming_bookings(self, customer_id: str | None, phone: str | None) -> list[BookingInfo]:
        if customer_id is None and phone is None:
            return []

        async def work(session: AsyncSession) -> list[BookingInfo]:
            found, _ = await appointment_lists.list_appointments(
                session,
                self.tenant,
                start=self.now,
                end=None,
                statuses=sorted(availability.OCCUPYING),
                customer_id=_uuid(customer_id, "customer") if customer_id else None,
                phone=phone,
                email=None,
                limit=20,
                cursor=None,
            )
            return [_booking_info(a) for a in found]

        return await self._transaction(work)

    # ---- writing ----

    async def hold_slot(
        self, service_id: str, starts_at: datetime, provider_id: str | None, replace_hold_id: str | None
    ) -> HoldInfo:
        data = HoldCreate(
            service_id=_uuid(service_id, "service"),
            provider_id=_uuid(provider_id, "provider") if provider_id else None,
            starts_at=starts_at,
            session_key=self.owner,
        )

        async def work(session: AsyncSession) -> HoldInfo:
            if replace_hold_id is not None:
                await holds.release_hold(session, self.caller, _uuid(replace_hold_id, "hold"), self.owner)
                await session.flush()  # the old hold stops blocking before the new one is checked
            hold = await holds.create_hold(session, self.caller, data, self.now)
            service_name, provider_name = await holds.labels(session, hold)
            return HoldInfo(
                str(hold.id),
                str(hold.service_id),
                service_name,
                provider_name,
                hold.starts_at,
                hold.expires_at,
            )

        return await self._booking_write(work)

    async def release_hold(self, hold_id: str) -> None:
        hold_uuid = _uuid(hold_id, "hold")

        async def work(session: AsyncSession) -> None:
            await holds.release_hold(session, self.caller, hold_uuid, self.owner)

        await self._booking_write(work)

    async def confirm_booking(self, hold_id: str, contact: Contact, notes: str) -> BookingInfo:
        try:
            data = HoldConfirm(
                customer=CustomerIn(
                    name=contact.name,
                    phone=contact.phone,
                    email=contact.email,
                    sms_consent=contact.texts and contact.phone is not None,
                    email_consent=contact.email is not None,
                ),
                notes=notes,
                session_key=self.owner,
            )
        except ValidationError as error:
            raise ToolFailure("VALIDATION_ERROR", _first_problem(error)) from error

        async def work(session: AsyncSession) -> BookingInfo:
            # The patient said yes to a summary that said what we would text or e-mail them.
            appointment = await booking.confirm_hold(
                session, self.caller, _uuid(hold_id, "hold"), data, self.now, consent_source="chat"
            )
            return _booking_info(appointment)

        return await self._booking_write(work)

    async def reschedule_booking(self, reference: str, starts_at: datetime) -> BookingInfo:
        async def work(session: AsyncSession) -> BookingInfo | str:
            found = await booking.get_appointment(session, self.tenant, reference, for_update=True)
            if _for_staff(self.tenant, found):
                return await self._ask_staff(session, found, f"move it to {self._when(starts_at)}")
            moved = await booking.reschedule(
                session, self.caller, reference, RescheduleIn(starts_at=starts_at), self.now
            )
            return _booking_info(moved)

        return _done(await self._booking_write(work))

    async def cancel_booking(self, reference: str, reason: str) -> BookingInfo:
        async def work(session: AsyncSession) -> BookingInfo | str:
            found = await booking.get_appointment(session, self.tenant, reference, for_update=True)
            if _for_staff(self.tenant, found):
                return await self._ask_staff(session, found, "cancel it")
            cancelled = await booking.cancel(
                session, self.caller, reference, CancelIn(reason=reason), self.now
            )
            return _booking_info(cancelled)

        return _done(await self._booking_write(work))

    async def _ask_staff(self, session: AsyncSession, appointment: Appointment, change: str) -> str:
        """The clinic keeps this appointment in its own system and wants its staff to make changes
        there: the conversation goes to the inbox with the request. What to tell the patient."""
        booked = f"{appointment.service.name} on {self._when(appointment.starts_at)}"
        await conversation_store.flag_for_human(
            session,
            self.caller,
            self.conversation_id,
            f"asks to {change}: {booked} (reference {appointment.reference}, from {appointment.source})",
        )
        return (
            f"The clinic keeps your {booked} in its own system, so I've asked the team to {change}. "
            "They'll confirm with you here."
        )

    def _when(self, moment: datetime) -> str:
        return when_label(moment, self.tenant.timezone_name)  # as the receptionist says times

    async def join_waitlist(
        self, service_id: str, first_day: date, last_day: date, part_of_day: str | None, contact: Contact
    ) -> WaitlistInfo:
        try:
            person = CustomerIn(name=contact.name, phone=contact.phone, email=contact.email)
        except ValidationError as error:
            raise ToolFailure("VALIDATION_ERROR", _first_problem(error)) from error

        async def work(session: AsyncSession) -> WaitlistInfo:
            service = await availability.get_service(session, self.tenant, _uuid(service_id, "service"))
            customer = await customers.find_or_create(
                session, self.caller, person, source="chat", now=self.now
            )
            entry = await waitlist.join(
                session,
                self.caller,
                service,
                customer.id,
                (first_day, last_day),
                part_of_day,
                self.conversation_id,
            )
            return WaitlistInfo(str(entry.id), service.name, first_day, last_day)

        return await self._transaction(work)

    async def request_human(self, reason: str) -> None:
        async def work(session: AsyncSession) -> None:
            await conversation_store.flag_for_human(session, self.caller, self.conversation_id, reason)

        await self._transaction(work)

    # ---- audit ----

    async def record_decision(self, call: ToolCall, decision: Decision) -> None:
        action = "policy.allowed" if decision.allowed else "policy.denied"
        details = {"rule": decision.rule, "policy_reason": decision.reason, "args": dict(call.args)}
        self._unaudited.append((action, "tool_call", call.name, details))

    async def record_triage(self, category: str, dismissed_because: str | None = None) -> None:
        if dismissed_because is None:
            action = "triage.emergency"
            details = {"category": category, "rule": "triage.emergency", "tools_blocked": True}
        else:
            action = "triage.dismissed"
            details = {"category": category, "rule": "triage.context", "set_aside": dismissed_because}
        self._unaudited.append((action, "conversation", self.conversation_id, details))

    async def record_safety(self, action: str, details: dict[str, Any]) -> None:
        self._unaudited.append((action, "conversation", self.conversation_id, details))

    async def alert_clinic(self, band: str, category: str) -> ClinicAlerted:
        async def work(session: AsyncSession) -> alerts.Flagged | None:
            return await alerts.flag(
                session, self.caller, self.conversation_id, band, category, self.now, self.alarm.inbox_url
            )

        return await self.alarm.announce(self.tenant, await self._transaction(work))

    def normalize_contact(self, text: str) -> str | None:
        candidate = text.strip()
        if _EMAIL.fullmatch(candidate):
            return candidate.lower()
        try:
            return customers.normalize_phone(candidate, self.tenant.settings.default_country)
        except AppError:
            return None


def _for_staff(tenant: TenantContext, appointment: Appointment) -> bool:
    return appointment.external and tenant.settings.external_patient_changes == "staff"


def _done(result: BookingInfo | str) -> BookingInfo:
    """The booking changed, or (a text for the patient) the change was passed to the staff."""
    if isinstance(result, str):
        raise ToolFailure("PASSED_TO_STAFF", result)
    return result


def _booking_info(appointment: Appointment) -> BookingInfo:
    return BookingInfo(
        id=str(appointment.id),
        reference=appointment.reference,
        customer_id=str(appointment.customer_id),
        customer_name=appointment.customer.name,
        service_id=str(appointment.service_id),
        service_name=appointment.service.name,
        provider_name=appointment.provider.name,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        status=appointment.status,
    )


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise ToolFailure("NOT_FOUND", f"no {what} with id {value!r}") from error


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    return f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}"
