"""What an appointment's life sends, and when: called by the booking service inside its transaction.

Booked → a confirmation now, reminders at the tenant's offsets. Moved → the reminders move, the
freed slot goes to the waiting list. Cancelled → pending reminders vanish, a cancellation notice,
the slot goes to the waiting list. Completed → a review request later. No-show → a recovery message.
A hold that lapses in a conversation with contact details → one follow-up.

Everything later than "now" is a `scheduled_actions` row, run by the worker (`actions.py`).
Every message, here or there, is one of the policy engine's worker actions, sent through
`notifications.notify`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller, TenantContext
from backend.messaging import outbox
from backend.messaging.models import ScheduledAction
from backend.messaging.notifications import Recipient, appointment_context, notify
from backend.scheduling.slots import wall_clock_before
from policy.quiet_hours import before_quiet_hours

if TYPE_CHECKING:  # rows of other domains, handed in by them
    from backend.scheduling.models import Appointment

REMINDER_KINDS = ("reminder",)
# A cap on review requests: one per patient in this many days.
REVIEW_CAP_DAYS = 90


@dataclass(frozen=True)
class FreedSlot:
    provider_id: uuid.UUID
    service_id: uuid.UUID
    starts_at: datetime
    blocked_until: datetime


# ---- booking hooks (inside the booking transaction) ----


# `notice`: whether the patient is told (a confirmation of the booking, the move, the cancellation).
# Always for ours; for another system's appointments, a per-source choice of the clinic's.


async def on_booked(
    session: AsyncSession, caller: Caller, appointment: Appointment, now: datetime, *, notice: bool = True
) -> None:
    if notice:
        await _confirm(session, caller, appointment, "confirmation", f"confirmation:{appointment.id}", now)
    await _schedule_reminders(session, caller.tenant, appointment, now)


async def on_rescheduled(
    session: AsyncSession,
    caller: Caller,
    appointment: Appointment,
    freed: FreedSlot,
    now: datetime,
    *,
    notice: bool = True,
) -> None:
    await _drop_reminders(session, caller, appointment.id, "the appointment moved")
    await _schedule_reminders(session, caller.tenant, appointment, now)
    moved_to = appointment.starts_at.isoformat()
    if notice:
        await _confirm(
            session, caller, appointment, "rescheduled", f"rescheduled:{appointment.id}:{moved_to}", now
        )
    await offer_freed_slot(session, caller.tenant, freed, appointment.id, now)


async def on_cancelled(
    session: AsyncSession,
    caller: Caller,
    appointment: Appointment,
    freed: FreedSlot,
    now: datetime,
    *,
    notice: bool = True,
) -> None:
    await _drop_reminders(session, caller, appointment.id, "the appointment was cancelled")
    if notice:
        await _confirm(session, caller, appointment, "cancelled", f"cancelled:{appointment.id}", now)
    await offer_freed_slot(session, caller.tenant, freed, appointment.id, now)


async def on_completed(
    session: AsyncSession, caller: Caller, appointment: Appointment, now: datetime
) -> None:
    settings = caller.tenant.settings
    if settings.review_link is None:
        return
    due = max(appointment.ends_at + timedelta(hours=settings.review_delay_hours), now)
    await schedule(
        session,
        caller.tenant,
        "send_review_request",
        due,
        f"review:{appointment.id}",
        appointment_id=appointment.id,
        customer_id=appointment.customer_id,
    )


async def on_no_show(session: AsyncSession, caller: Caller, appointment: Appointment, now: datetime) -> None:
    await _drop_reminders(session, caller, appointment.id, "the patient did not come")
    await schedule(
        session,
        caller.tenant,
        "mark_no_show",
        now,
        f"no_show:{appointment.id}",
        appointment_id=appointment.id,
        customer_id=appointment.customer_id,
    )


async def on_hold_lapsed(
    session: AsyncSession, tenant: TenantContext, hold_id: uuid.UUID, owner: str, now: datetime
) -> None:
    """A conversation's hold ran out unconfirmed: the worker decides whether a follow-up goes."""
    if not owner.startswith("conversation:"):
        return
    await schedule(
        session,
        tenant,
        "send_follow_up",
        now,
        f"follow_up:{hold_id}",
        payload={"hold_id": str(hold_id), "conversation_id": owner.removeprefix("conversation:")},
    )


async def offer_freed_slot(
    session: AsyncSession, tenant: TenantContext, freed: FreedSlot, source: uuid.UUID, now: datetime
) -> None:
    if freed.starts_at <= now:
        return
    await schedule(
        session,
        tenant,
        "offer_waitlist_slot",
        now,
        f"waitlist:{source}:{freed.starts_at.isoformat()}:0",
        payload={
            "provider_id": str(freed.provider_id),
            "service_id": str(freed.service_id),
            "starts_at": freed.starts_at.isoformat(),
            "blocked_until": freed.blocked_until.isoformat(),
            "source": str(source),
            "offered": [],
        },
    )


# ---- scheduling ----


async def schedule(
    session: AsyncSession,
    tenant: TenantContext,
    action: str,
    due_at: datetime,
    dedupe_key: str,
    *,
    appointment_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
    status: str = "pending",
    outcome: str | None = None,
) -> None:
    columns = {"appointment_id": appointment_id, "customer_id": customer_id, "payload": payload or {}}
    row = _scheduled(tenant, action, due_at, dedupe_key, **columns, status=status, outcome=outcome)
    await _insert_scheduled(session, [row])


def _scheduled(tenant: TenantContext, action: str, due_at: datetime, dedupe_key: str, **columns: Any) -> dict:
    """A scheduled_actions row; every row has every column, so several go in one INSERT."""
    row = {"appointment_id": None, "customer_id": None, "payload": {}, "status": "pending", "outcome": None}
    row.update(id=uuid.uuid4(), tenant_id=tenant.id, action=action, due_at=due_at, dedupe_key=dedupe_key)
    return {**row, **columns}


_INSERT_SCHEDULED = insert(ScheduledAction).on_conflict_do_nothing(constraint="scheduled_actions_dedupe_key")


def _insert_reminders() -> Any:
    """Reminders for a time the appointment had before and left again (moved back, or cancelled and
    booked again) were cancelled then: they are due again, not kept as they were."""
    statement = insert(ScheduledAction)
    return statement.on_conflict_do_update(
        constraint="scheduled_actions_dedupe_key",
        set_={
            "status": statement.excluded.status,
            "outcome": statement.excluded.outcome,
            "due_at": statement.excluded.due_at,
        },
        where=ScheduledAction.status == "cancelled",
    )


_INSERT_REMINDERS = _insert_reminders()


async def _insert_scheduled(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Every row in one statement; an occasion already scheduled (its dedupe key) is kept as it is."""
    if rows:
        # Rows as parameters, not a VALUES literal: the statement compiles once, for every row count.
        await session.execute(_INSERT_SCHEDULED, rows)


async def _schedule_reminders(
    session: AsyncSession, tenant: TenantContext, appointment: Appointment, now: datetime
) -> None:
    starts = appointment.starts_at.isoformat()
    settings, phone = tenant.settings, appointment.customer.phone
    zone = outbox.recipient_timezone("sms", phone, tenant.timezone_name) if phone else tenant.timezone_name
    rows = []
    for hours in tenant.settings.reminder_offsets_hours:
        due = wall_clock_before(appointment.starts_at, hours, tenant.timezone)
        passed = due <= now
        # Quiet hours that would hold the reminder past the visit: it goes before they begin instead.
        due = max(
            before_quiet_hours(
                due, appointment.starts_at, zone, settings.quiet_hours_start, settings.quiet_hours_end
            ),
            now,
        )
        rows.append(
            _scheduled(
                tenant,
                "send_reminder",
                due,
                f"reminder:{appointment.id}:{starts}:{hours}",
                appointment_id=appointment.id,
                customer_id=appointment.customer_id,
                payload={"offset_hours": hours, "starts_at": starts},
                # Kept, as skipped, so staff can see why no 48-hour reminder went for tomorrow's visit.
                status="skipped" if passed else "pending",
                outcome="its time had passed when the appointment was booked" if passed else None,
            )
        )
    if rows:
        await session.execute(_INSERT_REMINDERS, rows)


async def _drop_reminders(session: AsyncSession, caller: Caller, appointment_id: uuid.UUID, why: str) -> None:
    tenant = caller.tenant
    await session.execute(
        update(ScheduledAction)
        .where(
            ScheduledAction.tenant_id == tenant.id,
            ScheduledAction.appointment_id == appointment_id,
            ScheduledAction.action.in_(("send_reminder", "send_review_request")),
            ScheduledAction.status == "pending",
        )
        .values(status="cancelled", outcome=why)
    )
    await outbox.suppress_unsent(session, caller, appointment_id, REMINDER_KINDS, why)


async def _confirm(
    session: AsyncSession, caller: Caller, appointment: Appointment, kind: str, dedupe: str, now: datetime
) -> None:
    await notify(
        session,
        caller,
        "send_confirmation",
        kind,
        Recipient.of(appointment.customer),
        appointment_context(caller.tenant, appointment),
        dedupe,
        now,
        appointment_id=appointment.id,
        urgent=True,
    )
