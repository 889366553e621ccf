"""Sending through the policy engine: who a message goes to, on which channels, and whether it may.

`notify` asks the engine per channel with the facts it decides on (consent, opt-out, quiet hours,
caps and cooldowns), audits each decision, and queues the message in the outbox: a message
withheld is kept as `suppressed` with the reason. Used by an appointment's life (`lifecycle.py`)
and the worker's actions (`actions.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.messaging import message_templates, opt_outs, outbox
from backend.messaging.models import OutboxMessage
from backend.messaging.outbox import NewMessage
from policy.engine import Decision, OutboundFacts, PolicyContext, ToolCall, evaluate

if TYPE_CHECKING:  # rows of other domains, handed in by them
    from backend.customers.models import Customer
    from backend.scheduling.models import Appointment

CHANNELS = ("sms", "email")


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
