"""Tables of the scheduling domain: providers, services, hours, closures, holds, appointments and
the waiting list. The EXCLUDE constraints and triggers that keep them from overlapping are in alembic/.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, created_at_column, tenant_fk, updated_at_column, uuid_pk

if TYPE_CHECKING:  # the relationship names the class; SQLAlchemy finds it by name at run time
    from backend.customers.models import Customer


# The source of the appointments made here; any other source is the clinic's own system.
FRONTDESK = "frontdesk"


class Provider(Base):
    """A calendar that can be booked: a person or a room."""

    __tablename__ = "providers"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="person")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()


class Service(Base):
    __tablename__ = "services"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # Time kept free after the visit (cleaning the room, notes); it occupies the calendar too.
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = created_at_column()


class ServiceProvider(Base):
    __tablename__ = "service_providers"
    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True
    )


class WeeklyHours(Base):
    """One open interval of a provider on a weekday (0 = Monday), in the tenant's local time."""

    __tablename__ = "weekly_hours"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)


class Closure(Base):
    """A period when a provider (or, with no provider, the whole tenant) takes no bookings."""

    __tablename__ = "closures"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = created_at_column()


class Hold(Base):
    """A short reservation of a slot while a booking is being completed."""

    __tablename__ = "holds"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    # Who may confirm it: a conversation id, or an API client's session key.
    owner: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    blocked_until: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = created_at_column()


class Appointment(Base):
    __tablename__ = "appointments"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    reference: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # ends_at plus the service's buffer: the calendar is occupied until then.
    blocked_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="booked")
    notes: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # When the patient said they will come, and how: sms | email | chat | voice | staff.
    confirmed_at: Mapped[datetime | None]
    confirmed_via: Mapped[str | None] = mapped_column(String(16))
    # The patient's latest "running late" notice: by how many minutes (0 when they did not say).
    late_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    late_noticed_at: Mapped[datetime | None]
    # Who booked it: conversation | staff | api | waitlist | system; the conversation, when one did.
    booked_via: Mapped[str | None] = mapped_column(String(16))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    # Where it was made: "frontdesk" (here), or the name of the clinic's own system that sent it,
    # with that system's id and the version (or update time) of its last update applied.
    source: Mapped[str] = mapped_column(String(40), default=FRONTDESK)
    external_id: Mapped[str | None] = mapped_column(String(200))
    external_version: Mapped[int | None] = mapped_column(BigInteger)
    external_updated_at: Mapped[datetime | None]
    # Another system's appointment stored over a time already taken: kept outside the exclusion
    # constraint, and nothing else may be booked over it (alembic 0017).
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @property
    def external(self) -> bool:
        return self.external_id is not None

    # Every read of an appointment shows who, what and with whom: load them in the same query.
    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)
    service: Mapped[Service] = relationship(lazy="joined", innerjoin=True)
    provider: Mapped[Provider] = relationship(lazy="joined", innerjoin=True)


class WaitlistEntry(Base):
    __tablename__ = "waitlist_entries"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    part_of_day: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    # While `offered`: the exclusive hold on the freed slot, and the hash of the link that books it.
    offer_hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id"))
    offer_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    # Loaded only where asked for (offering a freed time): most reads of an entry do not need it.
    customer: Mapped[Customer] = relationship(lazy="raise")


class ReminderLinkUse(Base):
    """A one-click reminder link that has done its work (confirm, cancel): each is used once."""

    __tablename__ = "reminder_link_uses"
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    appointment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    used_at: Mapped[datetime]


class ExternalId(Base):
    """Another system's id for one of our providers or services, per source."""

    __tablename__ = "external_ids"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
