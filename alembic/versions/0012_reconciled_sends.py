"""Sends survive crashes and outages, and operators hear when they stall.

`notification_outbox.claim_id` names the claim that holds a `sending` row: only that claim may
record its outcome or extend its lease, so a worker presumed dead (its lease ran out while the
database was away, say) cannot overwrite what the row's next holder found out. Workers write a
heartbeat row every sweep, so `/metrics` can tell a dead or stuck worker from an idle one; and an
alert raised to a clinic (its messages are waiting too long) is a row until it clears, so it is
raised once per episode however many workers notice it.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("notification_outbox", sa.Column("claim_id", UUID(as_uuid=True), nullable=True))
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker", sa.String(100), primary_key=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("beat_at", TS, nullable=False),
    )
    op.create_table(
        "operator_alerts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("cleared_at", TS),
    )
    op.create_index(
        "operator_alerts_open",
        "operator_alerts",
        ["tenant_id", "kind"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("operator_alerts_open", table_name="operator_alerts")
    op.drop_table("operator_alerts")
    op.drop_table("worker_heartbeats")
    op.drop_column("notification_outbox", "claim_id")
