"""Idempotency keys held by the database session; webhook circuits counted per outage.

An idempotency key is now locked by the session of the request running it (an advisory lock) and
its row is written with the answer, in the work's own transaction: the `in_progress` state and its
`locked_at` timer go, and rows still `in_progress` (their requests died) are forgotten. A webhook
endpoint's circuit remembers when it last counted a failure (failures of requests that were in
flight then belong to the same outage) and when it may next be probed.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-11
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE status = 'in_progress'")
    op.drop_constraint("idempotency_keys_status_check", "idempotency_keys", type_="check")
    op.drop_column("idempotency_keys", "status")
    op.drop_column("idempotency_keys", "locked_at")
    op.alter_column("idempotency_keys", "response_status", nullable=False)
    op.alter_column("idempotency_keys", "response_body", nullable=False)
    op.add_column("webhook_endpoints", sa.Column("last_failure_at", TS))
    op.add_column("webhook_endpoints", sa.Column("probe_at", TS))
    op.execute("UPDATE webhook_endpoints SET probe_at = paused_until")


def downgrade() -> None:
    op.drop_column("webhook_endpoints", "probe_at")
    op.drop_column("webhook_endpoints", "last_failure_at")
    op.alter_column("idempotency_keys", "response_body", nullable=True)
    op.alter_column("idempotency_keys", "response_status", nullable=True)
    locked_at = sa.Column("locked_at", TS, nullable=False, server_default=sa.func.now())
    op.add_column("idempotency_keys", locked_at)
    op.add_column(
        "idempotency_keys", sa.Column("status", sa.String(16), nullable=False, server_default="completed")
    )
    op.create_check_constraint(
        "idempotency_keys_status_check", "idempotency_keys", "status IN ('in_progress', 'completed')"
    )
