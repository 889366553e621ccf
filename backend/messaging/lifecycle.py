"""What an appointment's life sends, and when: called by the booking service inside its transaction.

Booked → a confirmation now, reminders at the tenant's offsets. Moved → the reminders move, the
freed slot goes to the waiting list. Cancelled → pending reminders vanish, a cancellation notice,
the slot goes to the waiting list. Completed → a review request later. No-show → a recovery message.
A hold that lapses in a conversation with contact details → one follow-up.

Everything later than "now" is a `scheduled_actions` row, run by the worker (`worker_actions.py`).
Every message, here or there, is one of the policy engine's worker actions: `notify` asks the engine
per channel, audits its decision, and only then renders and queues the message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.messaging import message_templates, opt_outs, outbox
from backend.messaging.models import OutboxMessage, ScheduledAction
from backend.messaging.outbox import NewMessage
from backend.scheduling.slots import wall_clock_before
from policy.engine import Decision, OutboundFacts, PolicyContext, ToolCall, evaluate
from policy.quiet_hours import before_quiet_hours

if TYPE_CHECKING:  # rows of other domains, handed in by them
    from backend.customers.models import Customer
    from backend.scheduling.models import Appointment

CHANNELS = ("sms", "email")
REMINDER_KINDS = ("reminder",)
# A cap on review requests: one per patient in this many days.
REVIEW_CAP_DAYS = 90


@dataclass(frozen=True)
class Recipient:
    name: str
    phone: str | None
    email: str | None
    sms_consent: bool = True
    email_consent: bool = True
    customer_id: uuid.UUID | None = None

    @classmethod
    def of(cls, customer: Customer) -> Recipient:
        return cls(
            customer.name,
            customer.phone,
            customer.email,
            customer.sms_consent,
            customer.email_consent,
            customer.id,
        )

    def address(self, channel: str) -> str | None:
        return self.phone if channel == "sms" else self.email

    def consented(self, channel: str) -> bool:
        return self.sms_consent if channel == "sms" else self.email_consent


@dataclass(frozen=True)
class Limits:
    """A cap (at most `cap` in `window`) and a cooldown between messages of one kind to one person."""

    window: timedelta
    cap: int | None = None
    cooldown: timedelta | None = None


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


# ---- sending through the policy engine ----


def when_label(tenant: TenantContext, moment: datetime, *, zone_named: bool = False) -> str:
    """ "Fri Mar 6 at 5:00 PM" on the clinic's clock; `zone_named` adds its zone ("EST"), for a
    patient whose own clock is another."""
    local = moment.astimezone(tenant.timezone)
    label = f"{local:%a %b} {local.day} at {local:%I:%M %p}".replace(" at 0", " at ")
    if not zone_named:
        return label
    abbreviation = local.tzname() or ""
    return f"{label} {abbreviation if abbreviation.isalpha() else tenant.timezone_name}"


def appointment_context(tenant: TenantContext, appointment: Appointment) -> dict[str, Any]:
    phone = appointment.customer.phone
    elsewhere = phone is not None and (
        outbox.recipient_timezone("sms", phone, tenant.timezone_name) != tenant.timezone_name
    )
    return {
        "practice": tenant.name,
        "first_name": appointment.customer.name.split()[0],
        "service": appointment.service.name,
        "provider": appointment.provider.name,
        "when": when_label(tenant, appointment.starts_at, zone_named=elsewhere),
        "timezone": tenant.timezone_name,
        "reference": appointment.reference,
    }


async def notify(
    session: AsyncSession,
    caller: Caller,
    action: str,
    kind: str,
    recipient: Recipient,
    context: dict[str, Any],
    dedupe: str,
    now: datetime,
    *,
    appointment_id: uuid.UUID | None = None,
    urgent: bool = False,
    limits: Limits | None = None,
) -> dict[str, Decision]:
    """Queue `kind` to `recipient` on every channel the policy allows; the decision per channel.

    `dedupe` names the occasion (a scheduled action's own dedupe key, say): one message per channel.
    """
    tenant = caller.tenant
    decisions: dict[str, Decision] = {}
    rendered = None
    overrides: dict[str, str] = {}
    for channel in CHANNELS:
        address = recipient.address(channel)
        facts = await outbound_facts(session, tenant, channel, recipient, kind, limits, now)
        decision = evaluate(
            ToolCall(action, {"channel": channel, "kind": kind}),
            PolicyContext(
                channel="worker",
                now=now,
                timezone=tenant.timezone_name,
                turn=0,
                outbound=facts,
                switches=tenant.switches,
            ),
        )
        decisions[channel] = decision
        audit.record(
            session,
            caller,
            "policy.allowed" if decision.allowed else "policy.denied",
            "worker_action",
            action,
            {"rule": decision.rule, "policy_reason": decision.reason, "channel": channel, "kind": kind},
        )
        if address is None:
            continue  # nothing to keep: nobody to send it to
        # A message withheld (no consent, opted out, a cap) is kept as `suppressed`, so staff see what
        # was not sent and why; an occasion is decided once, so a refusal here is final for it.
        withheld = None if decision.allowed else f"{decision.rule}: {decision.reason}"
        if withheld is None and channel == "sms" and address == caller.texting:
            withheld = "told in the reply to the patient's text: one text, not two"
        if rendered is None:
            # The profile's wording now; the tenant's own, if any, after commit (tenant_wording.py):
            # their template never runs inside this transaction.
            overrides = await message_templates.overrides_for(session, tenant.id, kind)
            rendered = message_templates.render(kind, tenant.profile, context)
        reworded = any(part in overrides for part in message_templates.parts_of(channel))
        await outbox.enqueue(
            session,
            caller,
            NewMessage(
                kind=kind,
                channel=channel,
                recipient=address,
                subject=rendered.subject if channel == "email" else None,
                body=rendered.sms if channel == "sms" else rendered.email,
                dedupe_key=f"{dedupe}:{channel}",
                urgent=urgent,
                appointment_id=appointment_id,
                customer_id=recipient.customer_id,
                render_context=context if reworded else None,
            ),
            now,
            suppressed=withheld,
        )
    return decisions


async def outbound_facts(
    session: AsyncSession,
    tenant: TenantContext,
    channel: str,
    recipient: Recipient,
    kind: str,
    limits: Limits | None,
    now: datetime,
) -> OutboundFacts:
    address = recipient.address(channel)
    sent_in_window, last_sent_at = 0, None
    if address is not None and limits is not None:
        sent_in_window, last_sent_at = (
            await session.execute(
                select(func.count(), func.max(OutboxMessage.created_at)).where(
                    OutboxMessage.tenant_id == tenant.id,
                    OutboxMessage.channel == channel,
                    OutboxMessage.recipient == address,
                    OutboxMessage.kind == kind,
                    OutboxMessage.created_at > now - limits.window,
                    OutboxMessage.status.not_in(("opted_out", "suppressed")),
                )
            )
        ).one()
    return OutboundFacts(
        channel=channel,
        has_address=address is not None,
        consented=recipient.consented(channel),
        opted_out=channel == "sms"
        and address is not None
        and await opt_outs.is_opted_out(session, tenant.id, address),
        recipient_timezone=outbox.recipient_timezone(channel, address or "", tenant.timezone_name),
        quiet_start=tenant.settings.quiet_hours_start,
        quiet_end=tenant.settings.quiet_hours_end,
        sent_in_window=sent_in_window,
        cap=limits.cap if limits else None,
        last_sent_at=last_sent_at,
        cooldown=limits.cooldown if limits else None,
    )
