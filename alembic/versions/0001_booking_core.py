"""Booking core: tenants, calendars, customers, holds, appointments, keys, idempotency, audit.

The two guarantees against double booking that PostgreSQL enforces on its own live here:
EXCLUDE constraints on occupying appointments and on active holds, and triggers that keep a hold
and an appointment of the same provider from overlapping each other.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True)


def _tenant() -> sa.Column:
    return sa.Column(
        "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _created() -> sa.Column:
    return sa.Column("created_at", TS, nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.create_table(
        "tenants",
        _id(),
        sa.Column("slug", sa.String(63), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("settings", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        _created(),
    )

    op.create_table(
        "providers",
        _id(),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="person"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _created(),
        sa.CheckConstraint("kind IN ('person', 'room')", name="providers_kind_check"),
        sa.UniqueConstraint("tenant_id", "name", name="providers_tenant_name_key"),
    )
    op.create_index("ix_providers_tenant_id", "providers", ["tenant_id"])

    op.create_table(
        "services",
        _id(),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("aliases", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("buffer_minutes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        _created(),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 720", name="services_duration_check"),
        sa.CheckConstraint("buffer_minutes BETWEEN 0 AND 240", name="services_buffer_check"),
        sa.UniqueConstraint("tenant_id", "name", name="services_tenant_name_key"),
    )
    op.create_index("ix_services_tenant_id", "services", ["tenant_id"])

    op.create_table(
        "service_providers",
        sa.Column(
            "service_id",
            UUID(as_uuid=True),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "provider_id",
            UUID(as_uuid=True),
            sa.ForeignKey("providers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )

    op.create_table(
        "weekly_hours",
        _id(),
        _tenant(),
        sa.Column(
            "provider_id",
            UUID(as_uuid=True),
            sa.ForeignKey("providers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("weekday", sa.SmallInteger, nullable=False),
        sa.Column("opens_at", sa.Time, nullable=False),
        sa.Column("closes_at", sa.Time, nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekly_hours_weekday_check"),
        sa.CheckConstraint("opens_at < closes_at", name="weekly_hours_order_check"),
    )
    op.create_index("ix_weekly_hours_tenant_id", "weekly_hours", ["tenant_id"])
    op.create_index("ix_weekly_hours_provider_id", "weekly_hours", ["provider_id"])

    op.create_table(
        "closures",
        _id(),
        _tenant(),
        sa.Column("provider_id", UUID(as_uuid=True), sa.ForeignKey("providers.id", ondelete="CASCADE")),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False, server_default=""),
        _created(),
        sa.CheckConstraint("starts_at < ends_at", name="closures_order_check"),
    )
    op.create_index("ix_closures_tenant_id", "closures", ["tenant_id"])
    op.create_index("ix_closures_provider_id", "closures", ["provider_id"])

    op.create_table(
        "customers",
        _id(),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(16)),
        sa.Column("email", sa.String(254)),
        sa.Column("sms_consent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("email_consent", sa.Boolean, nullable=False, server_default=sa.false()),
        _created(),
        sa.CheckConstraint("phone IS NULL OR phone ~ '^\\+[1-9][0-9]{6,14}$'", name="customers_phone_e164"),
        sa.CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="customers_contact_check"),
    )
    op.create_index("ix_customers_tenant_id", "customers", ["tenant_id"])
    op.create_index(
        "customers_tenant_phone_key",
        "customers",
        ["tenant_id", "phone"],
        unique=True,
        postgresql_where=sa.text("phone IS NOT NULL"),
    )
    op.create_index("customers_tenant_email_idx", "customers", ["tenant_id", sa.text("lower(email)")])

    op.create_table(
        "holds",
        _id(),
        _tenant(),
        sa.Column("provider_id", UUID(as_uuid=True), sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("blocked_until", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        _created(),
        sa.CheckConstraint("starts_at < ends_at AND ends_at <= blocked_until", name="holds_order_check"),
        sa.CheckConstraint(
            "status IN ('active', 'confirmed', 'released', 'expired')", name="holds_status_check"
        ),
    )
    op.create_index("ix_holds_tenant_id", "holds", ["tenant_id"])
    op.create_index(
        "ix_holds_owner_active", "holds", ["tenant_id", "owner"], postgresql_where="status = 'active'"
    )
    # Layer 1 for holds. An expired hold is still 'active' until someone marks it expired; the booking
    # service does that (under the provider-day lock) before it inserts, so expired holds never block.
    op.execute(
        """
        ALTER TABLE holds ADD CONSTRAINT holds_no_overlap
        EXCLUDE USING gist (provider_id WITH =, tstzrange(starts_at, blocked_until) WITH &&)
        WHERE (status = 'active')
        """
    )

    op.create_table(
        "appointments",
        _id(),
        _tenant(),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("provider_id", UUID(as_uuid=True), sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("blocked_until", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="booked"),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("cancel_reason", sa.Text),
        _created(),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "starts_at < ends_at AND ends_at <= blocked_until", name="appointments_order_check"
        ),
        sa.CheckConstraint(
            "status IN ('booked', 'confirmed', 'cancelled', 'completed', 'no_show')",
            name="appointments_status_check",
        ),
        sa.UniqueConstraint("tenant_id", "reference", name="appointments_tenant_reference_key"),
    )
    op.create_index("ix_appointments_tenant_starts", "appointments", ["tenant_id", "starts_at"])
    op.create_index("ix_appointments_customer_id", "appointments", ["customer_id"])
    # Layer 1 for appointments: two occupying appointments of one provider can never overlap.
    op.execute(
        """
        ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap
        EXCLUDE USING gist (provider_id WITH =, tstzrange(starts_at, blocked_until) WITH &&)
        WHERE (status IN ('booked', 'confirmed'))
        """
    )

    # Layer 4, enforced by the database: a live hold and an occupying appointment of the same provider
    # never overlap. Raised as exclusion_violation so callers treat it exactly like the constraints.
    op.execute(
        """
        CREATE FUNCTION holds_block_appointments() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status = 'active' AND EXISTS (
                SELECT 1 FROM appointments a
                WHERE a.provider_id = NEW.provider_id
                  AND a.status IN ('booked', 'confirmed')
                  AND tstzrange(a.starts_at, a.blocked_until) && tstzrange(NEW.starts_at, NEW.blocked_until)
            ) THEN
                RAISE EXCEPTION 'hold overlaps an appointment of provider %', NEW.provider_id
                    USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'holds_appointments_no_overlap';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER holds_block_appointments BEFORE INSERT OR UPDATE ON holds
            FOR EACH ROW EXECUTE FUNCTION holds_block_appointments()
        """
    )
    op.execute(
        """
        CREATE FUNCTION appointments_block_holds() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IN ('booked', 'confirmed') AND EXISTS (
                SELECT 1 FROM holds h
                WHERE h.provider_id = NEW.provider_id
                  AND h.status = 'active'
                  AND h.expires_at > now()
                  AND tstzrange(h.starts_at, h.blocked_until) && tstzrange(NEW.starts_at, NEW.blocked_until)
            ) THEN
                RAISE EXCEPTION 'appointment overlaps a live hold of provider %', NEW.provider_id
                    USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointments_holds_no_overlap';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER appointments_block_holds BEFORE INSERT OR UPDATE ON appointments
            FOR EACH ROW EXECUTE FUNCTION appointments_block_holds()
        """
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", UUID(as_uuid=True)),
        sa.Column("occurred_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.String(100)),
        sa.Column("correlation_id", sa.String(100)),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index("ix_audit_log_tenant_id", "audit_log", ["tenant_id", "occurred_at"])

    op.create_table(
        "api_keys",
        _id(),
        _tenant(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("allowed_origins", ARRAY(sa.Text), nullable=False, server_default="{}"),
        _created(),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
        sa.CheckConstraint("kind IN ('secret', 'publishable')", name="api_keys_kind_check"),
        sa.CheckConstraint(
            "kind = 'secret' OR cardinality(allowed_origins) > 0", name="api_keys_publishable_origins_check"
        ),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", JSONB),
        sa.Column("locked_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS, nullable=False),
        _created(),
        sa.CheckConstraint("status IN ('in_progress', 'completed')", name="idempotency_keys_status_check"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "api_keys",
        "audit_log",
        "appointments",
        "holds",
        "customers",
        "closures",
        "weekly_hours",
        "service_providers",
        "services",
        "providers",
        "tenants",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS holds_block_appointments()")
    op.execute("DROP FUNCTION IF EXISTS appointments_block_holds()")
