"""Conversations (state and every message, with sequence numbers) and the waiting list.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column:
    return sa.Column(
        "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        sa.Column("channel", sa.String(16), nullable=False),
        # Web: SHA-256 of the resume token the widget keeps; the token itself is never stored.
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("state", JSONB, nullable=False, server_default="{}"),
        sa.Column("last_seq", sa.Integer, nullable=False, server_default="0"),
        # Set while a turn runs, so two messages of one conversation are answered one after the other.
        sa.Column("turn_lease_until", TS),
        sa.Column("origin", sa.String(300)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("channel IN ('web', 'sms', 'voice')", name="conversations_channel_check"),
        sa.CheckConstraint("status IN ('open', 'needs_human', 'closed')", name="conversations_status_check"),
    )
    op.create_index("ix_conversations_tenant_updated", "conversations", ["tenant_id", "updated_at"])
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            UUID(as_uuid=True),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _tenant(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False, server_default="{}"),
        # The sender's id for the message: a retried send is recognised and answered from storage.
        sa.Column("client_message_id", sa.String(100)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("conversation_id", "seq", name="conversation_messages_seq_key"),
        sa.CheckConstraint("role IN ('patient', 'assistant')", name="conversation_messages_role_check"),
    )
    op.create_index(
        "conversation_messages_client_id_key",
        "conversation_messages",
        ["conversation_id", "client_message_id"],
        unique=True,
        postgresql_where=sa.text("client_message_id IS NOT NULL"),
    )
    op.create_table(
        "waitlist_entries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("service_id", UUID(as_uuid=True), sa.ForeignKey("services.id"), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("part_of_day", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False, server_default="waiting"),
        sa.Column(
            "conversation_id", UUID(as_uuid=True), sa.ForeignKey("conversations.id", ondelete="SET NULL")
        ),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("first_day <= last_day", name="waitlist_entries_days_check"),
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'booked', 'expired', 'removed')",
            name="waitlist_entries_status_check",
        ),
    )
    op.create_index(
        "ix_waitlist_entries_tenant_service", "waitlist_entries", ["tenant_id", "service_id", "status"]
    )


def downgrade() -> None:
    op.drop_table("waitlist_entries")
    op.drop_table("conversation_messages")
    op.drop_table("conversations")
