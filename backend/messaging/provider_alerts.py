"""Telling clinics that a provider their messages go through is paused.

When a provider's circuit opens (circuits.py: it failed again and again), every clinic with
messages waiting on it gets a `provider.paused` event and, for texts, an e-mail to its alert
address and owners; when the circuit closes, a `provider.resumed` event. An e-mail about the
e-mail provider would wait behind the very outage it reports, so that one is told by the event and,
to the operator, by the Prometheus alert on `frontdesk_provider_circuit_open`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.context import Caller
from backend.core.event_catalogue import ProviderPaused, ProviderResumed
from backend.messaging import outbox, staff_alerts
from backend.messaging.models import OutboxMessage
from backend.tenants import service as tenants

# The channel each provider that can fail carries (the `log` provider never fails).
CHANNELS = {"twilio": "sms", "smtp": "email"}
WORKER = "worker"


async def opened(session: AsyncSession, provider: str, retry_at: datetime, now: datetime) -> None:
    channel = CHANNELS.get(provider)
    if channel is None:
        return
    for caller, waiting in await _waiting(session, provider, channel):
        events.emit(
            session,
            caller,
            ProviderPaused(provider=provider, channel=channel, waiting=waiting, retry_at=retry_at),
        )
        if channel == "sms":
            await _tell_owners(session, caller, provider, waiting, now)


async def closed(session: AsyncSession, provider: str) -> None:
    channel = CHANNELS.get(provider)
    if channel is None:
        return
    for caller, waiting in await _waiting(session, provider, channel):
        events.emit(session, caller, ProviderResumed(provider=provider, channel=channel, waiting=waiting))


async def _waiting(session: AsyncSession, provider: str, channel: str) -> list[tuple[Caller, int]]:
    """Each clinic with messages on `channel` not sent yet, and how many."""
    rows = await session.execute(
        select(OutboxMessage.tenant_id, func.count())
        .where(OutboxMessage.channel == channel, OutboxMessage.status.in_(outbox.UNSENT))
        .group_by(OutboxMessage.tenant_id)
    )
    return [(await _caller(session, tenant_id, provider), waiting) for tenant_id, waiting in rows.all()]


async def _caller(session: AsyncSession, tenant_id: uuid.UUID, provider: str) -> Caller:
    return Caller(await tenants.get_context(session, tenant_id), WORKER, f"provider:{provider}")


async def _tell_owners(
    session: AsyncSession, caller: Caller, provider: str, waiting: int, now: datetime
) -> None:
    await staff_alerts.tell_staff(
        session,
        caller,
        kind="provider_paused",
        subject="texts to patients are paused",
        body=(
            f"Frontdesk's text provider ({provider}) is failing, so sending texts is paused: "
            f"{waiting} of your clinic's texts (confirmations, reminders, replies) are waiting. None is "
            "lost: Frontdesk keeps trying and sends them as soon as the provider answers again. If this "
            "goes on, tell whoever runs your Frontdesk server."
        ),
        # At most one e-mail an hour for a provider that keeps pausing and resuming.
        dedupe_key=f"provider_paused:{provider}:{now:%Y-%m-%dT%H}",
        now=now,
        see="Messages",
    )
