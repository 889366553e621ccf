"""Telling a clinic that its messages are not going out: when too many are due and unsent
(`OUTBOX_ALERT_WAITING`), or the oldest has waited too long (`OUTBOX_ALERT_AFTER_SECONDS`), its
owners are e-mailed and an `outbox.delayed` event is written; once both are back under half the
threshold, an `outbox.recovered` event. The open alert is a row, so every worker's sweep can check
and the clinic hears once per episode.

The e-mail goes through the outbox too: when texts are what is stuck (a provider's outage), e-mail
still leaves; when nothing leaves at all, the workers are down and the Prometheus alerts
(deploy/prometheus/alerts.yml) are what tells the operator.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events
from backend.core.context import Caller
from backend.core.db import Database
from backend.core.event_catalogue import OutboxDelayed, OutboxRecovered
from backend.core.settings import Settings
from backend.messaging import outbox_health, staff_alerts
from backend.messaging.models import OperatorAlert
from backend.tenants import service as tenants

KIND = "outbox_delayed"
WORKER = "worker"


async def check(db: Database, settings: Settings, now: datetime) -> None:
    await db.transaction(lambda session: _check(session, settings, now))


async def _check(session: AsyncSession, settings: Settings, now: datetime) -> None:
    waiting = await outbox_health.waiting(session, now)
    raised = {
        alert.tenant_id: alert
        for alert in (
            await session.execute(
                select(OperatorAlert)
                .where(OperatorAlert.kind == KIND, OperatorAlert.cleared_at.is_(None))
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    }
    for tenant_id, (count, oldest) in waiting.items():
        if tenant_id not in raised and _over(settings, count, oldest, 1.0):
            await _raise(session, tenant_id, count, oldest, now)
    for tenant_id, alert in raised.items():
        count, oldest = waiting.get(tenant_id, (0, 0.0))
        if not _over(settings, count, oldest, 0.5):
            alert.cleared_at = now
            event = OutboxRecovered(
                operator_alert_id=alert.id, waiting=count, oldest_waiting_seconds=int(oldest)
            )
            events.record(session, tenant_id, event)


def _over(settings: Settings, count: int, oldest: float, share: float) -> bool:
    return (
        count >= settings.outbox_alert_waiting * share
        or oldest >= settings.outbox_alert_after_seconds * share
    )


async def _raise(
    session: AsyncSession, tenant_id: uuid.UUID, count: int, oldest: float, now: datetime
) -> None:
    alert_id = (
        await session.execute(
            insert(OperatorAlert)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, kind=KIND, raised_at=now)
            .on_conflict_do_nothing(
                index_elements=[OperatorAlert.tenant_id, OperatorAlert.kind],
                index_where=text("cleared_at IS NULL"),
            )
            .returning(OperatorAlert.id)
        )
    ).scalar_one_or_none()
    if alert_id is None:
        return  # another worker raised it a moment ago
    caller = Caller(await tenants.get_context(session, tenant_id), WORKER, f"operator_alert:{alert_id}")
    events.emit(
        session,
        caller,
        OutboxDelayed(operator_alert_id=alert_id, waiting=count, oldest_waiting_seconds=int(oldest)),
    )
    minutes = max(1, round(oldest / 60))
    await staff_alerts.tell_staff(
        session,
        caller,
        kind=KIND,
        subject="messages to patients are delayed",
        body=(
            f"{count} of your clinic's messages (confirmations, reminders, replies) are waiting to be "
            f"sent; the oldest has waited about {minutes} min. Frontdesk keeps trying and loses none "
            "of them. If this goes on, check your text provider's status, or tell whoever runs your "
            "Frontdesk server."
        ),
        dedupe_key=f"{KIND}:{alert_id}",
        now=now,
        see="Messages",
    )
