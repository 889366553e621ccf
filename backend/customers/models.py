"""Tables of the customers domain: the people who book, per tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, created_at_column, tenant_fk, uuid_pk


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[uuid.UUID] = uuid_pk()
    tenant_id: Mapped[uuid.UUID] = tenant_fk()
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    email_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where each consent came from (chat | api | keyword | unknown) and when it was last given or withdrawn.
    sms_consent_source: Mapped[str | None] = mapped_column(String(16))
    sms_consent_at: Mapped[datetime | None]
    email_consent_source: Mapped[str | None] = mapped_column(String(16))
    email_consent_at: Mapped[datetime | None]
    # Set when the patient's personal data was removed; the row stays so their visits keep a patient.
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
