"""Tables of the conversations domain: conversations and their numbered messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, created_at_column, tenant_fk, updated_at_column, uuid_pk


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    channel: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    turn_lease_until: Mapped[datetime | None]
    origin: Mapped[str | None] = mapped_column(String(300))
    # SMS and voice: who the patient is (their phone) and which of the practice's numbers they used.
    patient_phone: Mapped[str | None] = mapped_column(String(16))
    practice_number: Mapped[str | None] = mapped_column(String(16))
    # receptionist | staff: once a person takes over, no agent turn runs until they hand it back.
    handler: Mapped[str] = mapped_column(String(16), default="receptionist")
    staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    taken_over_at: Mapped[datetime | None]
    # Set by triage (emergency | urgent: the most serious band seen) until staff acknowledge it.
    triage_band: Mapped[str | None] = mapped_column(String(16))
    triage_category: Mapped[str | None] = mapped_column(String(40))
    triage_at: Mapped[datetime | None]
    triage_acknowledged_at: Mapped[datetime | None]
    triage_acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # When the patient was told they are talking to an automated assistant (a text thread, once).
    disclosed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ConversationMessage(Base):
    __tablename__ = "conversation_messages"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))  # patient | assistant | staff | system
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_message_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
