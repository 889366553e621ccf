"""The worker's side of the lifecycle: run the scheduled actions that are due, sweep lapsed holds.

Each action runs in its own transaction, taken with FOR UPDATE SKIP LOCKED so two workers never run
the same one, and finishes as `done` (its messages are queued), `skipped` (the policy or the facts
said no, with the reason in `outcome`), or stays `pending` with a later due time (deferred). An
action that raises is retried with backoff and, after the outbox's attempt limit, marked `failed`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import service as conversations
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import AppError
from backend.core.settings import Settings
from backend.customers import service as customers
from backend.messaging import lifecycle, notifications, outbox
from backend.messaging.models import ScheduledAction
from backend.messaging.notifications import Limits, Recipient
from backend.scheduling import booking, guards, holds, waitlist
from backend.scheduling.availability import OCCUPYING
from backend.scheduling.reminder_links import ReminderLinks
from backend.tenants import service as tenants
from policy.quiet_hours import quiet_until

if TYPE_CHECKING:
    from backend.scheduling.models import Appointment

log = logging.getLogger("frontdesk.worker")

WORKER = "worker"


@dataclass(frozen=True)
class Due:
    id: uuid.UUID
    tenant_id: uuid.UUID
    action: str


@dataclass(frozen=True)
class Result:
    status: str  # done | skipped | deferred
    outcome: str
    due_at: datetime | None = None  # deferred: when to try again


class ActionRunner:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.offer_base_url = settings.public_base_url.rstrip("/") + "/o/"
        self.reminder_links = ReminderLinks.from_settings(settings)

    async def run_due(self, now: datetime, limit: int = 200) -> int:
        """Run every action due at `now` (up to `limit`); how many were run."""
        ran = 0
        while ran < limit:
            due = await self.db.transaction(lambda session: _next_due(session, now))
            if due is None:
                break
            await self.run(due, now)
            ran += 1
        return ran

    async def run(self, due: Due, now: datetime) -> None:
        async def work(session: AsyncSession) -> None:
            action = (
                await session.execute(
                    select(ScheduledAction)
                    .where(
                        ScheduledAction.id == due.id,
                        ScheduledAction.status == "pending",
                        ScheduledAction.due_at <= now,
                    )
                    .with_for_update(skip_locked=True)
                )
            ).scalar_one_or_none()
            if action is None:
                return  # another worker has it, or had it
            tenant = await tenants.get_context(session, action.tenant_id)
            caller = Caller(tenant, WORKER, f"action:{action.id}")
            result = await self._perform(session, caller, action, now)
            action.attempts += 1
            action.outcome = result.outcome
            if result.status == "deferred":
                assert result.due_at is not None
                action.due_at = result.due_at
            else:
                action.status = result.status

        try:
            # Offers place holds, so every action runs like a booking write of its tenant.
            await self.db.transaction(work, isolation="SERIALIZABLE", gate=guards.writer_gate(due.tenant_id))
        except Exception as error:
            log.exception("action %s (%s) failed", due.id, due.action)
            failure = type(error).__name__
            await self.db.transaction(lambda session: self._failed(session, due, failure, now))

    async def _failed(self, session: AsyncSession, due: Due, failure: str, now: datetime) -> None:
        action = await session.get_one(ScheduledAction, due.id, with_for_update=True)
        action.attempts += 1
        action.outcome = f"error: {failure}"
        if action.attempts >= self.settings.outbox_max_attempts:
            action.status = "failed"
        else:
            action.due_at = now + timedelta(seconds=outbox.retry_delay(self.settings, action.attempts))

    async def _perform(
        self, session: AsyncSession, caller: Caller, action: ScheduledAction, now: datetime
    ) -> Result:
        if action.action == "send_reminder":
            return await _reminder(session, caller, action, now, self.reminder_links)
        if action.action == "send_follow_up":
            return await _follow_up(session, caller, action, now)
        if action.action == "offer_waitlist_slot":
            return await self._waitlist_offer(session, caller, action, now)
        if action.action == "send_review_request":
            return await _after_visit(session, caller, action, now, "completed", "review_request")
        if action.action == "mark_no_show":
            return await _after_visit(session, caller, action, now, "no_show", "no_show")
        return Result("skipped", f"no handler for {action.action}")

    # ---- waitlist ----

    async def _waitlist_offer(
        self, session: AsyncSession, caller: Caller, action: ScheduledAction, now: datetime
    ) -> Result:
        """Offer the freed slot to the best waiting patient; at the offer's expiry, to the next one."""
        tenant = caller.tenant
        payload = action.payload
        offered: list[str] = list(payload["offered"])
        previous = payload.get("entry_id")
        if previous is not None and await waitlist.close_offer(session, caller, uuid.UUID(previous)):
            return Result("done", "the slot was booked from the offer")
        starts_at = datetime.fromisoformat(payload["starts_at"])
        if starts_at <= now:
            return Result("skipped", "the freed time has passed")
        waiting = await waitlist.waiting_for(session, tenant, uuid.UUID(payload["service_id"]), starts_at)
        for entry, service in waiting:
            if str(entry.id) in offered:
                continue
            offered.append(str(entry.id))
            customer = entry.customer
            recipient = Recipient.of(customer)
            if recipient.phone and recipient.sms_consent:
                # The offer's clock must not run while the patient sleeps: wait for the morning
                # (the slot stays open to everyone meanwhile). `notify` checks the same rule again.
                zone = outbox.recipient_timezone("sms", recipient.phone, tenant.timezone_name)
                settings = tenant.settings
                morning = quiet_until(now, zone, settings.quiet_hours_start, settings.quiet_hours_end)
                if morning is not None:
                    return Result("deferred", "quiet hours for the first patient waiting", morning)
            try:
                made = await waitlist.offer(
                    session, caller, entry, service, uuid.UUID(payload["provider_id"]), starts_at, now
                )
            except AppError as error:
                if error.code == "SLOT_TAKEN":
                    return Result("done", "the slot was taken before it could be offered")
                continue  # this patient's service does not fit the freed time
            hold = made.hold
            context = {
                "practice": tenant.name,
                "first_name": customer.name.split()[0],
                "service": service.name,
                "provider": made.provider_name,
                "when": notifications.when_label(tenant, starts_at),
                "timezone": tenant.timezone_name,
                "minutes": tenant.settings.waitlist_offer_minutes,
                "link": self.offer_base_url + made.token,
            }
            decisions = await notifications.notify(
                session,
                caller,
                "offer_waitlist_slot",
                "waitlist_offer",
                recipient,
                context,
                f"waitlist_offer:{entry.id}:{hold.id}",
                now,
            )
            if not any(decision.allowed for decision in decisions.values()):
                waitlist.withdraw(entry, hold)
                continue
            await lifecycle.schedule(
                session,
                tenant,
                "offer_waitlist_slot",
                hold.expires_at,
                f"waitlist:{payload['source']}:{payload['starts_at']}:{len(offered)}",
                payload={**payload, "offered": offered, "entry_id": str(entry.id)},
            )
            waitlist.announce(session, caller, entry, hold)
            return Result("done", f"offered to waitlist entry {entry.id} until {hold.expires_at.isoformat()}")
        return Result("done", "nobody on the waiting list fits the freed time")


async def _next_due(session: AsyncSession, now: datetime) -> Due | None:
    row = (
        await session.execute(
            select(ScheduledAction.id, ScheduledAction.tenant_id, ScheduledAction.action)
            .where(ScheduledAction.status == "pending", ScheduledAction.due_at <= now)
            .order_by(ScheduledAction.due_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    return Due(*row) if row is not None else None


async def _appointment(session: AsyncSession, tenant: TenantContext, action: ScheduledAction) -> Appointment:
    assert action.appointment_id is not None
    return await booking.get_appointment(session, tenant, str(action.appointment_id))


async def _reminder(
    session: AsyncSession, caller: Caller, action: ScheduledAction, now: datetime, links: ReminderLinks | None
) -> Result:
    appointment = await _appointment(session, caller.tenant, action)
    if appointment.status not in OCCUPYING:
        return Result("skipped", f"the appointment is {appointment.status}")
    if appointment.starts_at.isoformat() != action.payload["starts_at"] or appointment.starts_at <= now:
        return Result("skipped", "the appointment has moved or passed")
    context = notifications.appointment_context(caller.tenant, appointment)
    if links is not None:  # one-click confirm and cancel, for the e-mail
        context |= links.for_reminder(caller.tenant.id, appointment)
    decisions = await notifications.notify(
        session,
        caller,
        "send_reminder",
        "reminder",
        Recipient.of(appointment.customer),
        context,
        action.dedupe_key,
        now,
        appointment_id=appointment.id,
    )
    return _summary(decisions)


async def _after_visit(
    session: AsyncSession, caller: Caller, action: ScheduledAction, now: datetime, status: str, kind: str
) -> Result:
    appointment = await _appointment(session, caller.tenant, action)
    if appointment.status != status:
        return Result("skipped", f"the appointment is {appointment.status} now")
    context = notifications.appointment_context(caller.tenant, appointment)
    limits = None
    if kind == "review_request":
        context["link"] = caller.tenant.settings.review_link
        limits = Limits(window=timedelta(days=lifecycle.REVIEW_CAP_DAYS), cap=1)
    decisions = await notifications.notify(
        session,
        caller,
        action.action,
        kind,
        Recipient.of(appointment.customer),
        context,
        action.dedupe_key,
        now,
        appointment_id=appointment.id,
        limits=limits,
    )
    return _summary(decisions)


async def _follow_up(session: AsyncSession, caller: Caller, action: ScheduledAction, now: datetime) -> Result:
    tenant = caller.tenant
    lapsed = await holds.lapsed(session, tenant, uuid.UUID(action.payload["hold_id"]), now)
    conversation = await conversations.find(session, tenant, uuid.UUID(action.payload["conversation_id"]))
    if conversation is None:
        return Result("skipped", "the conversation is gone")
    if lapsed.moved_on:
        return Result("skipped", "the patient has held or booked another time since")
    state = conversation.state
    phone = _phone(state.get("phone"), tenant)
    if not state.get("name") or not (phone or state.get("email")):
        return Result("skipped", "no contact details were given in the conversation")
    settings = tenant.settings
    decisions = await notifications.notify(
        session,
        caller,
        "send_follow_up",
        "follow_up",
        # They gave these details to be booked; the follow-up is about that same booking, and goes by
        # text only if they agreed to texts when they gave the number.
        Recipient(state["name"], phone, state.get("email"), sms_consent=state.get("sms_consent") is True),
        {
            "practice": tenant.name,
            "first_name": state["name"].split()[0],
            "service": lapsed.service_name,
            "when": notifications.when_label(tenant, lapsed.hold.starts_at),
            "timezone": tenant.timezone_name,
        },
        action.dedupe_key,
        now,
        limits=Limits(
            window=timedelta(days=7),
            cap=settings.follow_up_max_per_week,
            cooldown=timedelta(minutes=settings.follow_up_cooldown_minutes),
        ),
    )
    return _summary(decisions)


def _phone(raw: Any, tenant: TenantContext) -> str | None:
    if not raw:
        return None
    try:
        return customers.normalize_phone(str(raw), tenant.settings.default_country)
    except AppError:
        return None


def _summary(decisions: dict[str, Any]) -> Result:
    sent = [channel for channel, decision in decisions.items() if decision.allowed]
    if sent:
        return Result("done", f"queued on {', '.join(sent)}")
    reasons = "; ".join(f"{channel}: {d.rule} ({d.reason})" for channel, d in decisions.items())
    return Result("skipped", reasons)


async def sweep_lapsed_holds(db: Database, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """Expire holds whose time ran out; a conversation's lapsed hold may earn a follow-up. Returns
    (tenant, hold, owner) of each, for the chats to be told."""

    async def work(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
        rows = await holds.expire_lapsed(session, now)
        contexts: dict[uuid.UUID, TenantContext] = {}
        for hold in rows:
            if hold.tenant_id not in contexts:
                contexts[hold.tenant_id] = await tenants.get_context(session, hold.tenant_id)
            caller = Caller(contexts[hold.tenant_id], WORKER, f"sweep:{now.isoformat()}")
            holds.record_expiry(session, caller, hold)
            await lifecycle.on_hold_lapsed(session, contexts[hold.tenant_id], hold.id, hold.owner, now)
        return [(hold.tenant_id, hold.id, hold.owner) for hold in rows]

    return await db.transaction(work)
