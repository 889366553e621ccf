"""Calendar sync: providers' Google and CalDAV calendars, the busy time read from them, and the
queue that writes our bookings back.

Busy blocks are the times a connected calendar says a provider is busy. Availability subtracts
them, and two triggers make the database refuse a new hold or an appointment moved onto one, as it
refuses an overlap with another appointment (exclusion_violation, so callers see SLOT_TAKEN). An
appointment that was there before the busy time arrived stays, and is flagged to staff as a
conflict; confirming or cancelling it is never blocked.

Secrets (a Google refresh token, a CalDAV app password) are sealed with the key ring (AES-256-GCM)
and bound to their connection's id.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column:
    return _ref("tenant_id", "tenants.id")


def _ref(name: str, target: str, *, big: bool = False, primary_key: bool = False) -> sa.Column:
    """A column pointing at `target`, deleted with it."""
    kind = sa.BigInteger if big else UUID(as_uuid=True)
    return sa.Column(
        name, kind, sa.ForeignKey(target, ondelete="CASCADE"), nullable=False, primary_key=primary_key
    )


def _created() -> sa.Column:
    return sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "calendar_connections",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        _ref("provider_id", "providers.id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("account", sa.String(320), nullable=False),
        sa.Column("server_url", sa.Text),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("status", sa.String(16), nullable=False, server_default="connected"),
        sa.Column("last_error", sa.Text),
        sa.Column("last_synced_at", TS),
        sa.Column("sync_requested_at", TS),
        _created(),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('google', 'caldav')", name="calendar_connections_kind"),
        sa.CheckConstraint("status IN ('connected', 'broken')", name="calendar_connections_status"),
        sa.UniqueConstraint("provider_id", "kind", "account", name="calendar_connections_one_per_account"),
    )
    op.create_index("calendar_connections_tenant", "calendar_connections", ["tenant_id", "provider_id"])

    op.create_table(
        "calendar_sources",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        _ref("connection_id", "calendar_connections.id"),
        sa.Column("provider_id", UUID(as_uuid=True), nullable=False),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("blocks_time", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("receives_bookings", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("sync_token", sa.Text),
        sa.Column("last_synced_at", TS),
        # Recurring events are expanded up to here; the worker expands them further as days pass.
        sa.Column("expanded_through", TS),
        sa.Column("watch_channel_id", sa.String(64)),
        sa.Column("watch_resource_id", sa.Text),
        sa.Column("watch_token_hash", sa.String(64)),
        sa.Column("watch_expires_at", TS),
        _created(),
        sa.UniqueConstraint("connection_id", "external_id", name="calendar_sources_once"),
    )
    # One calendar per provider receives the bookings.
    op.create_index(
        "calendar_sources_one_receiver",
        "calendar_sources",
        ["provider_id"],
        unique=True,
        postgresql_where=sa.text("receives_bookings"),
    )
    op.create_index(
        "calendar_sources_watch",
        "calendar_sources",
        ["watch_channel_id"],
        unique=True,
        postgresql_where=sa.text("watch_channel_id IS NOT NULL"),
    )

    op.create_table(
        "calendar_items",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _tenant(),
        _ref("source_id", "calendar_sources.id"),
        sa.Column("external_key", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        # Only what busy time needs (times, recurrence, transparency, status): no titles, no people.
        sa.Column("busy_shape", sa.Text),
        sa.Column("recurring", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("source_id", "external_key", name="calendar_items_once"),
    )

    op.create_table(
        "busy_blocks",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _tenant(),
        _ref("provider_id", "providers.id"),
        _ref("item_id", "calendar_items.id", big=True),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="busy_blocks_positive"),
    )
    op.create_index("busy_blocks_item", "busy_blocks", ["item_id"])
    op.execute(
        "CREATE INDEX busy_blocks_time ON busy_blocks USING gist (provider_id, tstzrange(starts_at, ends_at))"
    )

    op.create_table(
        "calendar_conflicts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        _ref("appointment_id", "appointments.id"),
        _ref("item_id", "calendar_items.id", big=True),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("detected_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("dismissed_at", TS),
        sa.UniqueConstraint("appointment_id", "item_id", name="calendar_conflicts_once"),
    )
    op.create_index("calendar_conflicts_open", "calendar_conflicts", ["tenant_id", "detected_at"])

    op.create_table(
        "calendar_pushes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        _ref("appointment_id", "appointments.id"),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        _created(),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'done', 'failed')", name="calendar_pushes_state"),
    )
    # One pending push per appointment: it writes whatever the appointment is when it runs.
    op.create_index(
        "calendar_pushes_one_pending",
        "calendar_pushes",
        ["appointment_id"],
        unique=True,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "calendar_pushes_due",
        "calendar_pushes",
        ["next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.execute(
        "CREATE TRIGGER calendar_pushes_nudge AFTER INSERT ON calendar_pushes "
        "FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_nudge_worker()"
    )

    op.create_table(
        "calendar_event_links",
        _ref("appointment_id", "appointments.id", primary_key=True),
        _tenant(),
        _ref("source_id", "calendar_sources.id"),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
    )

    op.execute(
        """
        CREATE FUNCTION frontdesk_busy_overlap(provider uuid, starts timestamptz, ends timestamptz)
        RETURNS boolean LANGUAGE sql STABLE AS $$
            SELECT EXISTS (
                SELECT 1 FROM busy_blocks b
                WHERE b.provider_id = provider
                  AND tstzrange(b.starts_at, b.ends_at) && tstzrange(starts, ends)
            )
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION holds_avoid_busy_time() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status = 'active'
               AND frontdesk_busy_overlap(NEW.provider_id, NEW.starts_at, NEW.blocked_until)
            THEN
                RAISE EXCEPTION 'hold overlaps busy time of provider %', NEW.provider_id
                    USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'holds_busy_time';
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER holds_avoid_busy_time BEFORE INSERT ON holds "
        "FOR EACH ROW EXECUTE FUNCTION holds_avoid_busy_time()"
    )
    # Only a booking that takes new time is checked: confirming, cancelling or marking attendance on
    # an appointment that busy time later landed on must keep working.
    op.execute(
        """
        CREATE FUNCTION appointments_avoid_busy_time() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IN ('booked', 'confirmed')
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
    )
    op.execute(
        "CREATE TRIGGER appointments_avoid_busy_time BEFORE INSERT OR UPDATE ON appointments "
        "FOR EACH ROW EXECUTE FUNCTION appointments_avoid_busy_time()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER appointments_avoid_busy_time ON appointments")
    op.execute("DROP TRIGGER holds_avoid_busy_time ON holds")
    op.execute("DROP FUNCTION appointments_avoid_busy_time()")
    op.execute("DROP FUNCTION holds_avoid_busy_time()")
    op.execute("DROP FUNCTION frontdesk_busy_overlap(uuid, timestamptz, timestamptz)")
    for table in (
        "calendar_event_links",
        "calendar_pushes",
        "calendar_conflicts",
        "busy_blocks",
        "calendar_items",
        "calendar_sources",
        "calendar_connections",
    ):
        op.drop_table(table)
