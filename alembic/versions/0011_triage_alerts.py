"""Conversations flagged by triage, and the disclosure each conversation gets once.

A conversation where triage recognised an emergency or an urgent dental problem carries the flag
(the most serious band seen, its category, when) until a member of staff acknowledges it; the inbox
shows unacknowledged ones first. `disclosed_at` records when the patient was told they are talking
to an automated assistant, so a text thread is told once.

Revision ID: 0011
Revises: 0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from alembic import op

revision: str = "0011"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("conversations", sa.Column("triage_band", sa.String(16)))
    op.add_column("conversations", sa.Column("triage_category", sa.String(40)))
    op.add_column("conversations", sa.Column("triage_at", TS))
    op.add_column("conversations", sa.Column("triage_acknowledged_at", TS))
    op.add_column(
        "conversations",
        sa.Column(
            "triage_acknowledged_by",
            UUID(as_uuid=True),
            sa.ForeignKey("staff_users.id", ondelete="SET NULL"),
        ),
    )
    op.add_column("conversations", sa.Column("disclosed_at", TS))
    op.create_check_constraint(
        "conversations_triage_band_check",
        "conversations",
        "triage_band IS NULL OR triage_band IN ('urgent', 'emergency')",
    )
    # The inbox's alerts: a clinic's flagged conversations that no one has acknowledged yet.
    op.create_index(
        "ix_conversations_open_alerts",
        "conversations",
        ["tenant_id", sa.text("triage_at DESC")],
        postgresql_where=sa.text("triage_band IS NOT NULL AND triage_acknowledged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_open_alerts", "conversations")
    op.drop_constraint("conversations_triage_band_check", "conversations")
    for column in (
        "disclosed_at",
        "triage_acknowledged_by",
        "triage_acknowledged_at",
        "triage_at",
        "triage_category",
        "triage_band",
    ):
        op.drop_column("conversations", column)
