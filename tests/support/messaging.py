"""What the outbox and lifecycle tests share: fresh phone numbers, bookings, and a look at the outbox."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from backend.core.db import Database
from backend.core.settings import Settings
from backend.customers.schemas import CustomerIn
from backend.messaging import outbox
from backend.messaging.actions import ActionRunner
from backend.messaging.dispatcher import Dispatcher
from backend.messaging.outbox import NewMessage
from backend.messaging.template_processes import TemplateProcesses
from backend.messaging.tenant_wording import TenantWording
from backend.scheduling import booking
from backend.scheduling.schemas import BookingCreate
from backend.worker import build_senders
from tests.conftest import at, local_day
from tests.fakes.smtp_server import FakeSmtp
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio, running_fake_twilio
from tests.support.db import booking_transaction, caller_for, rows, scalar


def new_phone(area: str = "212") -> str:
    """A number no other test uses; 212 is New York, 310 Los Angeles."""
    return f"+1{area}{random.randint(2_000_000, 9_999_999)}"


def new_email() -> str:
    return f"patient{random.randint(0, 10**9)}@example.org"


def provider_settings(
    settings: Settings, twilio: FakeTwilio | None, smtp: FakeSmtp | None, **extra
) -> Settings:
    update: dict = {"outbox_retry_base_seconds": 30, **extra}
    if twilio is not None:
        update |= {
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_from_number": FROM_NUMBER,
            "twilio_api_base_url": twilio.base_url,
        }
    if smtp is not None:
        update |= {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none"}
    return Settings(_env_file=None, **(settings.model_dump() | update))


@asynccontextmanager
async def dispatcher_for(db: Database, settings: Settings) -> AsyncIterator[Dispatcher]:
    await reset_circuits(db)
    dispatcher = Dispatcher(db, settings, build_senders(settings))
    try:
        yield dispatcher
    finally:
        await dispatcher.close()
        await reset_circuits(db)


@dataclass
class Outage:
    """Texts queued to a Twilio that fails every request, sent once: the circuit has opened."""

    twilio: FakeTwilio
    dispatcher: Dispatcher
    config: Settings
    numbers: list[str]


@asynccontextmanager
async def provider_outage(
    db: Database, settings: Settings, tenant_id, now: datetime, texts: int
) -> AsyncIterator[Outage]:
    """`texts` texts to a failing Twilio (a circuit opens after 3 failures, cools down from 60 s),
    each tried once; `outage.twilio.outage_requests = 0` ends the outage."""
    numbers = [new_phone() for _ in range(texts)]
    async with running_fake_twilio() as twilio:
        failing = {"circuit_failure_threshold": 3, "circuit_open_seconds": 60, "outbox_max_attempts": 10}
        config = provider_settings(settings, twilio, None, **failing)
        async with dispatcher_for(db, config) as dispatcher:
            for number in numbers:
                await queue(db, tenant_id, now, number)
            twilio.outage_requests = 1000
            await dispatcher.run_once(now)
            yield Outage(twilio, dispatcher, config, numbers)


async def reset_circuits(db: Database) -> None:
    await scalar(db, "DELETE FROM provider_circuits RETURNING 1")


def runner_for(db: Database, settings: Settings) -> ActionRunner:
    return ActionRunner(db, settings)


async def reword(db: Database, processes: TemplateProcesses, now: datetime | None = None) -> int:
    """What the worker does after a commit that queued messages in a tenant's own wording."""
    return await TenantWording(db, processes).render_due(now or datetime.now(UTC))


async def book_at(
    db: Database,
    tenant_id: str,
    service_id: str,
    starts_at: datetime,
    now: datetime,
    *,
    phone: str | None = None,
    email: str | None = None,
    name: str = "Maria Lopez",
    sms_consent: bool = True,
):
    """Book through the booking service with the clock set to `now`."""
    caller = await caller_for(db, tenant_id)
    data = BookingCreate(
        service_id=service_id,
        starts_at=starts_at,
        customer=CustomerIn(name=name, phone=phone, email=email, sms_consent=sms_consent),
    )
    return await booking_transaction(db, caller, lambda session: booking.book(session, caller, data, now))


async def outbox_of(db: Database, tenant_id: str, **filters) -> list[dict]:
    where = " AND ".join(f"{column} = :{column}" for column in filters)
    return await rows(
        db,
        "SELECT * FROM notification_outbox WHERE tenant_id = :tenant_id"
        + (f" AND {where}" if where else "")
        + " ORDER BY created_at, channel",
        tenant_id=tenant_id,
        **filters,
    )


async def actions_of(db: Database, tenant_id: str, action: str | None = None) -> list[dict]:
    if action is None:
        sql = "SELECT * FROM scheduled_actions WHERE tenant_id = :tenant_id ORDER BY due_at"
        return await rows(db, sql, tenant_id=tenant_id)
    sql = "SELECT * FROM scheduled_actions WHERE tenant_id = :tenant_id AND action = :action ORDER BY due_at"
    return await rows(db, sql, tenant_id=tenant_id, action=action)


async def queue(db, tenant_id, now, recipient, *, kind="reminder", channel="sms", urgent=False, key=None):
    caller = await caller_for(db, tenant_id)

    async def work(session):
        return await outbox.enqueue(
            session,
            caller,
            NewMessage(
                kind=kind,
                channel=channel,
                recipient=recipient,
                subject="Subject" if channel == "email" else None,
                body=f"{kind} for {recipient}",
                dedupe_key=key or f"{kind}:{recipient}:{now.isoformat()}",
                urgent=urgent,
            ),
            now,
        )

    return await db.transaction(work)


def daytime() -> datetime:
    """Noon in New York tomorrow: outside quiet hours for New York numbers."""
    return at(local_day(1), "12:00").astimezone(UTC)
