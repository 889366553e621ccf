"""The durable outbox and what feeds it: scheduled worker actions, SMS opt-outs, provider circuits,
domain events, per-tenant message templates, and waitlist offers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

OUTBOX_STATUSES = (
    "pending",
    "sending",
    "sent",
    "failed",
    "permanently_failed",
    "rate_limited",
    "opted_out",
    "suppressed",
)
ACTIONS = (
    "send_confirmation",
    "send_reminder",
    "send_follow_up",
    "offer_waitlist_slot",
    "send_review_request",
    "mark_no_show",
)


def _tenant() -> sa.Column:
    return sa.Column(
        "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        # Quiet hours are the recipient's, not the server's.
        sa.Column("recipient_timezone", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("segments", sa.SmallInteger),
        # Urgent messages (a confirmation of what the patient just did) ignore quiet hours.
        sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "appointment_id", UUID(as_uuid=True), sa.ForeignKey("appointments.id", ondelete="SET NULL")
        ),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id", ondelete="SET NULL")),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False, server_default=sa.func.now()),
        # While `sending`: past this, the worker that claimed the row is presumed dead.
        sa.Column("lease_until", TS),
        sa.Column("last_attempt_at", TS),
        sa.Column("sent_at", TS),
        sa.Column("provider", sa.String(16)),
        sa.Column("provider_message_id", sa.String(64)),
        sa.Column("delivery_status", sa.String(16)),
        sa.Column("delivery_updated_at", TS),
        sa.Column("error_code", sa.String(32)),
        sa.Column("error", sa.Text),
        *_timestamps(),
        sa.UniqueConstraint("tenant_id", "dedupe_key", name="notification_outbox_dedupe_key"),
        sa.CheckConstraint("channel IN ('sms', 'email')", name="notification_outbox_channel_check"),
        sa.CheckConstraint(_in("status", OUTBOX_STATUSES), name="notification_outbox_status_check"),
    )
    op.create_index(
        "ix_outbox_due",
        "notification_outbox",
        ["next_attempt_at"],
        postgresql_where=sa.text("status IN ('pending', 'failed', 'rate_limited')"),
    )
    op.create_index(
        "ix_outbox_leased",
        "notification_outbox",
        ["lease_until"],
        postgresql_where=sa.text("status = 'sending'"),
    )
    op.create_index(
        "ix_outbox_recipient", "notification_outbox", ["tenant_id", "channel", "recipient", "last_attempt_at"]
    )
    op.create_index("ix_outbox_appointment", "notification_outbox", ["appointment_id"])
    op.create_index(
        "ix_outbox_provider_message",
        "notification_outbox",
        ["provider", "provider_message_id"],
        unique=True,
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )

    op.create_table(
        "scheduled_actions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("appointment_id", UUID(as_uuid=True), sa.ForeignKey("appointments.id", ondelete="CASCADE")),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id", ondelete="CASCADE")),
        sa.Column("payload", JSONB, nullable=False, server_default="{}"),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        # The rule or reason that decided the outcome, for staff reading why nothing was sent.
        sa.Column("outcome", sa.Text),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("tenant_id", "dedupe_key", name="scheduled_actions_dedupe_key"),
        sa.CheckConstraint(_in("action", ACTIONS), name="scheduled_actions_action_check"),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'skipped', 'cancelled', 'failed')",
            name="scheduled_actions_status_check",
        ),
    )
    op.create_index(
        "ix_scheduled_actions_due",
        "scheduled_actions",
        ["due_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_scheduled_actions_appointment", "scheduled_actions", ["appointment_id"])

    op.create_table(
        "sms_opt_outs",
        _tenant(),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("opted_out_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "phone"),
    )

    op.create_table(
        "provider_circuits",
        sa.Column("provider", sa.String(16), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("opened_until", TS),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )

    op.create_table(
        "domain_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(50), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("data", JSONB, nullable=False, server_default="{}"),
        sa.Column("occurred_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_domain_events_tenant", "domain_events", ["tenant_id", "id"])

    op.create_table(
        "message_templates",
        _tenant(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("part", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "part"),
        sa.CheckConstraint("part IN ('sms', 'subject', 'email')", name="message_templates_part_check"),
    )

    op.add_column(
        "waitlist_entries", sa.Column("offer_hold_id", UUID(as_uuid=True), sa.ForeignKey("holds.id"))
    )
    op.add_column("waitlist_entries", sa.Column("offer_token_hash", sa.String(64), unique=True))

    # Wake the worker when rows arrive. NOTIFY is delivered on commit, so a rolled-back booking
    # wakes nobody, and one per statement (PostgreSQL folds repeats within a transaction).
    op.execute(
        """
        CREATE FUNCTION frontdesk_nudge_worker() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('frontdesk_work', TG_TABLE_NAME);
            RETURN NULL;
        END $$;
        """
    )
    for table in ("notification_outbox", "scheduled_actions"):
        op.execute(
            f"CREATE TRIGGER {table}_nudge AFTER INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_nudge_worker()"
        )


def downgrade() -> None:
    for table in ("notification_outbox", "scheduled_actions"):
        op.execute(f"DROP TRIGGER {table}_nudge ON {table}")
    op.execute("DROP FUNCTION frontdesk_nudge_worker()")
    op.drop_column("waitlist_entries", "offer_token_hash")
    op.drop_column("waitlist_entries", "offer_hold_id")
    for table in (
        "message_templates",
        "domain_events",
        "provider_circuits",
        "sms_opt_outs",
        "scheduled_actions",
        "notification_outbox",
    ):
        op.drop_table(table)
