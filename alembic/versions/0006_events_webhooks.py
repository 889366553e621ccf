"""The event stream and signed webhooks.

Events get a version, the correlation id of the request or job that caused them, and the id of the
transaction that wrote them (`xid`): a reader returns only events of transactions older than every
one still running, ordered by (xid, id), so a cursor never passes an event that commits later.
Webhook endpoints keep their signing secrets sealed (AES-GCM, core/crypto.py); deliveries are a
durable queue with retries, a lease, and a log of what the receiver answered.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
DELIVERY_STATUSES = ("pending", "sending", "delivered", "retrying", "failed")


def upgrade() -> None:
    op.add_column("domain_events", sa.Column("version", sa.SmallInteger, nullable=False, server_default="1"))
    op.add_column("domain_events", sa.Column("correlation_id", sa.String(100)))
    op.execute("ALTER TABLE domain_events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.create_index("ix_domain_events_stream", "domain_events", ["tenant_id", "xid", "id"])
    # Cursors carry the xid as a number; this turns one back for comparisons the index can use.
    op.execute(
        "CREATE FUNCTION frontdesk_xid8(bigint) RETURNS xid8 LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        "AS 'SELECT $1::text::xid8'"
    )
    op.create_index("ix_domain_events_occurred", "domain_events", ["occurred_at"])
    # Renamed to the catalogue's names; the message's id joins the data, as new events carry it.
    op.execute(
        "UPDATE domain_events SET type = 'message.' || substr(type, 14), entity_type = 'message', "
        "data = data || jsonb_build_object('message_id', entity_id) WHERE type LIKE 'notification.%'"
    )
    op.execute(
        "UPDATE domain_events SET type = 'message.failed', "
        "data = data || jsonb_build_object('reason', CASE type WHEN 'message.opted_out' THEN 'opted_out' "
        "WHEN 'message.permanently_failed' THEN 'provider_error' ELSE 'undelivered' END) "
        "WHERE type IN ('message.opted_out', 'message.permanently_failed', 'message.undelivered')"
    )
    op.add_column("notification_outbox", sa.Column("correlation_id", sa.String(100)))
    # Per tenant, the furthest point of the stream retention has removed: an older cursor may
    # have missed events and is refused (410) rather than silently skipping them.
    op.create_table(
        "event_purges",
        sa.Column("tenant_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("xid", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, nullable=False),
        sa.Column("purged_at", TS, nullable=False, server_default=sa.func.now()),
    )
    # The webhook pump listens on its own channel, so the outbox worker is not woken for events.
    op.execute(
        """
        CREATE FUNCTION frontdesk_nudge_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('frontdesk_events', TG_TABLE_NAME);
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER domain_events_nudge AFTER INSERT ON domain_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_nudge_webhooks()"
    )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.String(500), nullable=False, server_default=""),
        sa.Column("event_types", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("payload", sa.String(16), nullable=False, server_default="minimal"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("disabled_reason", sa.Text),
        # Sealed with the key ring; during a rotation the previous one still signs until it expires.
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_secret_expires_at", TS),
        # Where the fan-out has read the stream to, for this endpoint: (xid, id) of the last event.
        sa.Column("cursor_xid", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cursor_id", sa.BigInteger, nullable=False, server_default="0"),
        # The circuit: failures in a row, paused until, and since when it has been failing.
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("paused_until", TS),
        sa.Column("failing_since", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("payload IN ('minimal', 'full')", name="webhook_endpoints_payload_check"),
    )
    op.create_index("ix_webhook_endpoints_tenant", "webhook_endpoints", ["tenant_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "endpoint_id",
            UUID(as_uuid=True),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # Purged with its event: the log is kept as long as the stream.
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("domain_events.id", ondelete="CASCADE")),
        # The Standard Webhooks message id: the same for every attempt and replay of one event.
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        # Only a ping has its own payload; an event's is built from the event when it is sent.
        sa.Column("payload", JSONB),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("lease_until", TS),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.String(1000)),
        sa.Column("latency_ms", sa.Integer),
        sa.Column("error", sa.Text),
        # The replay request that queued it again; unset for the fan-out's own delivery.
        sa.Column("replay_id", UUID(as_uuid=True)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", TS),
        sa.CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in DELIVERY_STATUSES)})",
            name="webhook_deliveries_status_check",
        ),
    )
    # The fan-out of one event to one endpoint happens once; replays are rows of their own.
    op.create_index(
        "uq_webhook_deliveries_event",
        "webhook_deliveries",
        ["endpoint_id", "event_id"],
        unique=True,
        postgresql_where=sa.text("replay_id IS NULL AND event_id IS NOT NULL"),
    )
    # The claim looks at each endpoint's earliest due deliveries (and counts those in flight).
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["endpoint_id", "next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'retrying', 'sending')"),
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_index(
        "ix_webhook_deliveries_log", "webhook_deliveries", ["endpoint_id", sa.text("created_at DESC"), "id"]
    )
    op.execute(
        "CREATE TRIGGER webhook_deliveries_nudge AFTER INSERT ON webhook_deliveries "
        "FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_nudge_webhooks()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER webhook_deliveries_nudge ON webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.execute("DROP TRIGGER domain_events_nudge ON domain_events")
    op.execute("DROP FUNCTION frontdesk_nudge_webhooks()")
    op.drop_table("event_purges")
    op.drop_column("notification_outbox", "correlation_id")
    op.drop_index("ix_domain_events_occurred", "domain_events")
    op.drop_index("ix_domain_events_stream", "domain_events")
    op.execute("DROP FUNCTION frontdesk_xid8(bigint)")
    op.drop_column("domain_events", "xid")
    op.drop_column("domain_events", "correlation_id")
    op.drop_column("domain_events", "version")
