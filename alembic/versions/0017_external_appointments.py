"""Appointments from the clinic's own system: kept in `appointments` with their source and id.

An appointment the clinic's practice-management system made is a row like ours, so reminders,
replies, no-shows, reviews and waitlist offers work for it unchanged; `source` says where it came
from ('frontdesk' for ours) and (`source`, `external_id`) is its key for upserts, with the version
or update time the caller sent, so an older update never overwrites a newer one.

Their system is the source of truth for its appointments, so one that lands on a time already
taken is stored anyway, as a conflict (`conflict`): such a row is kept outside the exclusion
constraint, and a trigger keeps every other occupying appointment off it (raised as an exclusion
violation, so callers see SLOT_TAKEN), so nothing new is ever booked over it. Busy time read from a
provider's calendar does not refuse an external appointment: it is usually the same visit, mirrored.

`external_ids` maps another system's ids of providers and services to ours, per source.

Revision ID: 0017
Revises: 0020
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from alembic import op

revision: str = "0017"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
OCCUPYING = "status IN ('booked', 'confirmed')"

_BUSY_TIME_CHECK = """
CREATE OR REPLACE FUNCTION appointments_avoid_busy_time() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('booked', 'confirmed')
       {only_ours}
       AND (TG_OP = 'INSERT'
            OR OLD.status NOT IN ('booked', 'confirmed')
            OR (NEW.provider_id, NEW.starts_at, NEW.blocked_until)
               IS DISTINCT FROM (OLD.provider_id, OLD.starts_at, OLD.blocked_until))
       AND frontdesk_busy_overlap(NEW.provider_id, NEW.starts_at, NEW.blocked_until)
    THEN
        RAISE EXCEPTION 'appointment overlaps busy time of provider %', NEW.provider_id
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointments_busy_time';
    END IF;
    RETURN NEW;
END $$
"""


def _exclusion(predicate: str) -> None:
    op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_no_overlap")
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap "
        "EXCLUDE USING gist (provider_id WITH =, tstzrange(starts_at, blocked_until) WITH &&) "
        f"WHERE ({predicate})"
    )


def upgrade() -> None:
    op.add_column(
        "appointments", sa.Column("source", sa.String(40), nullable=False, server_default="frontdesk")
    )
    op.add_column("appointments", sa.Column("external_id", sa.String(200)))
    op.add_column("appointments", sa.Column("external_version", sa.BigInteger))
    op.add_column("appointments", sa.Column("external_updated_at", TS))
    op.add_column(
        "appointments", sa.Column("conflict", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_check_constraint(
        "appointments_external_key_check", "appointments", "(source = 'frontdesk') = (external_id IS NULL)"
    )
    # Only another system's appointment may be stored over a taken time; ours never.
    op.create_check_constraint(
        "appointments_conflict_external", "appointments", "NOT conflict OR external_id IS NOT NULL"
    )
    op.create_index(
        "appointments_external_key",
        "appointments",
        ["tenant_id", "source", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    _exclusion(f"{OCCUPYING} AND NOT conflict")
    # The constraint's index now leaves conflicts out, so it no longer serves the queries that ask
    # what occupies a time (availability, the precheck, the holds trigger, calendar conflicts): this
    # one does, conflicts included. Without it each of those reads the whole table, and under
    # SERIALIZABLE locks all of it, making unrelated bookings fail each other.
    op.execute(
        "CREATE INDEX appointments_occupying_time ON appointments "
        f"USING gist (provider_id, tstzrange(starts_at, blocked_until)) WHERE {OCCUPYING}"
    )
    # Layer 1 for conflicts: an appointment stored over a taken time keeps its time to itself from
    # then on. Checked whenever a row starts occupying time outside the conflict set.
    op.execute(
        """
        CREATE FUNCTION appointments_avoid_conflicts() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IN ('booked', 'confirmed') AND NOT NEW.conflict
               AND (TG_OP = 'INSERT'
                    OR OLD.status NOT IN ('booked', 'confirmed')
                    OR OLD.conflict
                    OR (NEW.provider_id, NEW.starts_at, NEW.blocked_until)
                       IS DISTINCT FROM (OLD.provider_id, OLD.starts_at, OLD.blocked_until))
               AND EXISTS (
                   SELECT 1 FROM appointments a
                   WHERE a.provider_id = NEW.provider_id
                     AND a.id <> NEW.id
                     AND a.conflict
                     AND a.status IN ('booked', 'confirmed')
                     AND tstzrange(a.starts_at, a.blocked_until)
                         && tstzrange(NEW.starts_at, NEW.blocked_until)
               )
            THEN
                RAISE EXCEPTION 'appointment overlaps an appointment of provider % kept as a conflict',
                    NEW.provider_id
                    USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointments_conflicts_no_overlap';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER appointments_avoid_conflicts BEFORE INSERT OR UPDATE ON appointments "
        "FOR EACH ROW EXECUTE FUNCTION appointments_avoid_conflicts()"
    )
    op.execute(_BUSY_TIME_CHECK.format(only_ours="AND NEW.external_id IS NULL"))

    op.create_table(
        "external_ids",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("provider_id", UUID(as_uuid=True), sa.ForeignKey("providers.id", ondelete="CASCADE")),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id", ondelete="CASCADE")),
        sa.CheckConstraint("num_nonnulls(provider_id, service_id) = 1", name="external_ids_one_target"),
    )
    for kind in ("provider", "service"):
        op.create_index(
            f"external_ids_{kind}_key",
            "external_ids",
            ["tenant_id", "source", "external_id"],
            unique=True,
            postgresql_where=sa.text(f"{kind}_id IS NOT NULL"),
        )
        # One id per source for each of ours: renaming it in their system replaces the mapping.
        op.create_index(
            f"external_ids_{kind}_once",
            "external_ids",
            [f"{kind}_id", "source"],
            unique=True,
            postgresql_where=sa.text(f"{kind}_id IS NOT NULL"),
        )


def downgrade() -> None:
    op.drop_table("external_ids")
    op.execute(_BUSY_TIME_CHECK.format(only_ours=""))
    op.execute("DROP TRIGGER appointments_avoid_conflicts ON appointments")
    op.execute("DROP FUNCTION appointments_avoid_conflicts()")
    op.execute("DROP INDEX appointments_occupying_time")
    # Rows kept as conflicts would break the constraint restored below: they stop occupying time.
    op.execute(
        "UPDATE appointments SET status = 'cancelled', cancel_reason = 'stored as a conflict; downgraded' "
        "WHERE conflict AND status IN ('booked', 'confirmed')"
    )
    _exclusion(OCCUPYING)
    op.drop_index("appointments_external_key", table_name="appointments")
    op.drop_constraint("appointments_conflict_external", "appointments")
    op.drop_constraint("appointments_external_key_check", "appointments")
    for column in ("conflict", "external_updated_at", "external_version", "external_id", "source"):
        op.drop_column("appointments", column)
