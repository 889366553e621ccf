"""Two-factor sign-in and retention.

Staff accounts get a TOTP secret (sealed with the key ring, like calendar secrets), the time step
of the last code used (a code works once), and single-use recovery codes kept as SHA-256 hashes.
`retention_runs` records each clinic's nightly purge: the local day it ran for (so a night runs
once across workers) and what it removed.

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Sealed under `staff_totp:<id>`; `totp_enabled_at` is set once a first code proved the enrolment.
    op.add_column("staff_users", sa.Column("totp_secret", sa.Text))
    op.add_column("staff_users", sa.Column("totp_enabled_at", TS))
    op.add_column("staff_users", sa.Column("totp_last_step", sa.BigInteger))
    op.create_table(
        "staff_recovery_codes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "staff_id",
            UUID(as_uuid=True),
            sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("staff_id", "code_hash", name="uq_staff_recovery_codes_code"),
    )
    op.create_table(
        "retention_runs",
        sa.Column(
            "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("run_on", sa.Date, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("counts", JSONB, nullable=False, server_default="{}"),
    )
    # Retention reads old rows by age, per clinic (the audit log has its index since 0001).
    op.create_index(
        "ix_conversation_messages_tenant_created", "conversation_messages", ["tenant_id", "created_at"]
    )
    op.create_index(
        "ix_notification_outbox_tenant_created", "notification_outbox", ["tenant_id", "created_at"]
    )
    op.create_index("ix_inbound_sms_tenant_received", "inbound_sms", ["tenant_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_sms_tenant_received", "inbound_sms")
    op.drop_index("ix_notification_outbox_tenant_created", "notification_outbox")
    op.drop_index("ix_conversation_messages_tenant_created", "conversation_messages")
    op.drop_table("retention_runs")
    op.drop_table("staff_recovery_codes")
    op.drop_column("staff_users", "totp_last_step")
    op.drop_column("staff_users", "totp_enabled_at")
    op.drop_column("staff_users", "totp_secret")
