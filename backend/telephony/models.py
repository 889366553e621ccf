"""Tables of the telephony domain: tenants' Twilio numbers, inbound texts, voice calls and their turns."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, created_at_column, tenant_fk, updated_at_column, uuid_pk


class TenantPhoneNumber(Base):
    """A Twilio number of a tenant; calls and texts to it are the tenant's."""

    __tablename__ = "tenant_phone_numbers"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    number: Mapped[str] = mapped_column(String(16), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = created_at_column()


class InboundSms(Base):
    """A text a patient sent: the webhook's dedupe row, and the worker's queue of turns to answer."""

    __tablename__ = "inbound_sms"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(16))
    to_number: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16))
    handling: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class VoiceCall(Base):
    """One phone call, persisted turn by turn so a restarted server picks the call up."""

    __tablename__ = "voice_calls"
    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    from_number: Mapped[str] = mapped_column(String(16))
    to_number: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer, default=0)
    silences: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_prompt: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))


class VoiceTurn(Base):
    __tablename__ = "voice_turns"
    call_sid: Mapped[str] = mapped_column(
        ForeignKey("voice_calls.call_sid", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    heard: Mapped[str] = mapped_column(Text, default="")
    twiml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class TenantTwilioAccount(Base):
    """A clinic's own Twilio account (or subaccount): its numbers' webhooks are verified with its auth
    token and its texts sent from it. The token is sealed with the key ring under the context
    `tenant_twilio_account:<tenant id>`; clinics without a row use the platform's account."""

    __tablename__ = "tenant_twilio_accounts"
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    account_sid: Mapped[str] = mapped_column(String(34))
    auth_token_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @property
    def secret_context(self) -> str:
        return f"tenant_twilio_account:{self.tenant_id}"
