"""Tables of the calendar domain: connections to providers' calendars, the calendars chosen, what we
know of each external event, the busy blocks read from them, conflicts flagged to staff, and the
queue writing bookings back. Triggers that make busy time refuse bookings are in alembic/ (0008).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, created_at_column, tenant_fk, updated_at_column, uuid_pk


class CalendarConnection(Base):
    """One provider's account at a calendar service. `secret_sealed` is a Google refresh token or
    a CalDAV app password, sealed with the key ring under the context `calendar_connection:<id>`."""

    __tablename__ = "calendar_connections"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # What staff recognise it by: the Google account, or the CalDAV username.
    account: Mapped[str] = mapped_column(String(320))
    server_url: Mapped[str | None] = mapped_column(Text)
    secret_sealed: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    status: Mapped[str] = mapped_column(String(16), default="connected")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None]
    # Set by a push notification or a staff "sync now"; the worker syncs such connections first.
    sync_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @property
    def secret_context(self) -> str:
        return f"calendar_connection:{self.id}"


class CalendarSource(Base):
    """One calendar of a connection, and what it is used for."""

    __tablename__ = "calendar_sources"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calendar_connections.id", ondelete="CASCADE")
    )
    provider_id: Mapped[uuid.UUID]
    # Google's calendar id, or the CalDAV collection's URL.
    external_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(300))
    blocks_time: Mapped[bool] = mapped_column(Boolean, default=False)
    receives_bookings: Mapped[bool] = mapped_column(Boolean, default=False)
    sync_token: Mapped[str | None] = mapped_column(Text)
    last_synced_at: Mapped[datetime | None]
    expanded_through: Mapped[datetime | None]
    watch_channel_id: Mapped[str | None] = mapped_column(String(64))
    watch_resource_id: Mapped[str | None] = mapped_column(Text)
    watch_token_hash: Mapped[str | None] = mapped_column(String(64))
    watch_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()


class CalendarItem(Base):
    """An external event we have read: a CalDAV resource (by href) or a Google event instance."""

    __tablename__ = "calendar_items"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calendar_sources.id", ondelete="CASCADE"))
    external_key: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    busy_shape: Mapped[str | None] = mapped_column(Text)
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)


class BusyBlock(Base):
    __tablename__ = "busy_blocks"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("calendar_items.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]


class CalendarConflict(Base):
    """Busy time that arrived over an appointment already booked: shown to staff, never moved."""

    __tablename__ = "calendar_conflicts"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("calendar_items.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    detected_at: Mapped[datetime] = created_at_column()
    dismissed_at: Mapped[datetime | None]


class CalendarPush(Base):
    """An appointment whose copy in the provider's calendar must be brought up to date."""

    __tablename__ = "calendar_pushes"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class CalendarEventLink(Base):
    """Where an appointment's event was written, so a move or a cancel finds it."""

    __tablename__ = "calendar_event_links"
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calendar_sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = updated_at_column()
