"""Tables of the messaging domain: the outbox, scheduled actions, SMS opt-outs, provider circuits,
tenant message templates, and what operators watch (worker heartbeats, alerts raised to clinics).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, created_at_column, tenant_fk, updated_at_column, uuid_pk


class OutboxMessage(Base):
    """One message to one recipient on one channel; the dispatcher moves it through its statuses."""

    __tablename__ = "notification_outbox"
    # Fetching `updated_at` back after an UPDATE makes the ORM write rows one statement at a time;
    # the dispatcher updates its rows by the dozen and never reads it back.
    __mapper_args__ = {"eager_defaults": "auto"}
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_timezone: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # An account e-mail's real text (it holds a sign-in link), sealed with the key ring under
    # `outbox:<dedupe_key>`: only the dispatcher opens it, and it is erased when the row is final.
    sealed_body: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int | None] = mapped_column(SmallInteger)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    # Of the request or job that queued it: its events (sent, delivered) carry it on.
    correlation_id: Mapped[str | None] = mapped_column(String(100))
    # SMS: the practice number it goes out from (replies come back to it); unset: the default number.
    sender: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # While `rendering`: the values the tenant's own template is rendered with after commit
    # (`tenant_wording.py`); erased once it is.
    render_context: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    # Why the message went in the profile's wording although the tenant has their own.
    template_fallback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    # The claim holding a `sending` row: only it records the outcome or extends the lease.
    claim_id: Mapped[uuid.UUID | None]
    last_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_updated_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ScheduledAction(Base):
    """A worker action due at a time: a reminder, a follow-up, a waitlist offer, a review request."""

    __tablename__ = "scheduled_actions"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    action: Mapped[str] = mapped_column(String(32))
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE")
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class SmsOptOut(Base):
    __tablename__ = "sms_opt_outs"
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    phone: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # keyword | carrier | staff
    opted_out_at: Mapped[datetime] = created_at_column()


class ProviderCircuit(Base):
    """Shared by every worker: consecutive failures of a provider and until when it is left alone."""

    __tablename__ = "provider_circuits"
    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    opened_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = updated_at_column()


class MessageTemplate(Base):
    """A tenant's own wording for one part (sms, subject, email) of one kind of message."""

    __tablename__ = "message_templates"
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = updated_at_column()


class WorkerHeartbeat(Base):
    """One per worker process, written every sweep: a stale one is a dead or stuck worker."""

    __tablename__ = "worker_heartbeats"
    worker: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid:nonce
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime]


class OperatorAlert(Base):
    """Trouble a clinic was told about (its messages waiting too long), open until it clears."""

    __tablename__ = "operator_alerts"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    raised_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
