"""Two-way SMS and voice on Twilio: tenants' numbers, inbound texts (the dedupe row and the worker's
queue in one), voice calls and their turns, the patient's number on phone conversations, and the
number an outbound text is sent from.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
E164 = sa.String(16)

INBOUND_STATUSES = ("received", "processing", "answered", "handled", "opted_out", "rate_limited", "failed")
CALL_STATUSES = ("active", "ended", "rejected")


def _tenant(nullable: bool = False) -> sa.Column:
    return sa.Column(
        "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=nullable
    )


def _conversation() -> sa.Column:
    return sa.Column(
        "conversation_id", UUID(as_uuid=True), sa.ForeignKey("conversations.id", ondelete="SET NULL")
    )


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "tenant_phone_numbers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        # Unique across tenants: inbound traffic is routed by the number that was called or texted.
        sa.Column("number", E164, nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_tenant_phone_numbers_tenant", "tenant_phone_numbers", ["tenant_id", "created_at"])

    op.add_column("conversations", sa.Column("patient_phone", E164))
    op.add_column("conversations", sa.Column("practice_number", E164))
    # One SMS thread per (practice number, patient phone).
    op.create_index(
        "conversations_sms_thread_key",
        "conversations",
        ["tenant_id", "practice_number", "patient_phone"],
        unique=True,
        postgresql_where=sa.text("channel = 'sms'"),
    )
    op.add_column("notification_outbox", sa.Column("sender", E164))

    op.create_table(
        "inbound_sms",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        # Twilio retries a webhook it did not see answered; the second delivery finds this row.
        sa.Column("message_sid", sa.String(64), nullable=False, unique=True),
        sa.Column("from_number", E164, nullable=False),
        sa.Column("to_number", E164, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        _conversation(),
        sa.Column("status", sa.String(16), nullable=False),
        # What the message was read as: a keyword, a reminder reply, or a conversation turn.
        sa.Column("handling", sa.String(32)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_until", TS),
        sa.Column("error", sa.Text),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS),
        sa.CheckConstraint(_in("status", INBOUND_STATUSES), name="inbound_sms_status_check"),
    )
    op.create_index(
        "ix_inbound_sms_due",
        "inbound_sms",
        ["received_at"],
        postgresql_where=sa.text("status IN ('received', 'processing')"),
    )
    op.execute(
        "CREATE TRIGGER inbound_sms_nudge AFTER INSERT ON inbound_sms "
        "FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_nudge_worker()"
    )

    op.create_table(
        "voice_calls",
        sa.Column("call_sid", sa.String(64), primary_key=True),
        _tenant(),
        _conversation(),
        sa.Column("from_number", E164, nullable=False),
        sa.Column("to_number", E164, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        # The number of the last turn answered; Twilio posts turn `step + 1` next.
        sa.Column("step", sa.Integer, nullable=False, server_default="0"),
        sa.Column("silences", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        # What the caller was last asked, to ask again after a silence.
        sa.Column("last_prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("ended_at", TS),
        sa.Column("end_reason", sa.String(32)),
        sa.CheckConstraint(_in("status", CALL_STATUSES), name="voice_calls_status_check"),
    )
    op.create_index(
        "ix_voice_calls_active", "voice_calls", ["tenant_id"], postgresql_where=sa.text("status = 'active'")
    )
    op.create_table(
        "voice_turns",
        sa.Column("call_sid", sa.String(64), sa.ForeignKey("voice_calls.call_sid", ondelete="CASCADE")),
        sa.Column("step", sa.Integer),
        sa.Column("heard", sa.Text, nullable=False, server_default=""),
        # The TwiML answered, so a repeated request gets the same answer and does nothing twice.
        sa.Column("twiml", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("call_sid", "step"),
    )


def downgrade() -> None:
    op.drop_table("voice_turns")
    op.drop_table("voice_calls")
    op.execute("DROP TRIGGER inbound_sms_nudge ON inbound_sms")
    op.drop_table("inbound_sms")
    op.drop_column("notification_outbox", "sender")
    op.drop_index("conversations_sms_thread_key", table_name="conversations")
    op.drop_column("conversations", "practice_number")
    op.drop_column("conversations", "patient_phone")
    op.drop_table("tenant_phone_numbers")
