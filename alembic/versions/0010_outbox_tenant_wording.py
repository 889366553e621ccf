"""Messages in a tenant's own wording are rendered after the transaction that queued them.

A message whose kind the tenant has reworded is queued in the profile's wording with status
`rendering` and the values its template needs (`render_context`); the worker renders the tenant's
template in a confined child process, then moves the row on to `pending`, in the tenant's wording
or, if the template failed, still in the profile's, with the reason in `template_fallback`.
The dispatcher never claims `rendering`. An insert in that status wakes the worker's rendering
loop (`outbox_rendering` on the `frontdesk_work` channel).

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from alembic import op

revision: str = "0010"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = (
    "pending",
    "sending",
    "sent",
    "failed",
    "permanently_failed",
    "rate_limited",
    "opted_out",
    "suppressed",
    "cancelled",
)


def _statuses(statuses: Sequence[str]) -> str:
    return f"status IN ({', '.join(repr(s) for s in statuses)})"


def upgrade() -> None:
    op.add_column("notification_outbox", sa.Column("render_context", JSONB, nullable=True))
    op.add_column("notification_outbox", sa.Column("template_fallback", sa.Text, nullable=True))
    op.drop_constraint("notification_outbox_status_check", "notification_outbox")
    op.create_check_constraint(
        "notification_outbox_status_check", "notification_outbox", _statuses((*STATUSES, "rendering"))
    )
    op.create_index(
        "ix_outbox_rendering",
        "notification_outbox",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'rendering'"),
    )
    op.execute(
        """
        CREATE FUNCTION frontdesk_nudge_rendering() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('frontdesk_work', 'outbox_rendering');
            RETURN NULL;
        END $$;
        """
    )
    # Per row, but only rows to render run it (the WHEN is checked without calling the function),
    # and PostgreSQL folds the repeats of one transaction into one notification.
    op.execute(
        "CREATE TRIGGER notification_outbox_render_nudge AFTER INSERT ON notification_outbox "
        "FOR EACH ROW WHEN (NEW.status = 'rendering') EXECUTE FUNCTION frontdesk_nudge_rendering()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER notification_outbox_render_nudge ON notification_outbox")
    op.execute("DROP FUNCTION frontdesk_nudge_rendering()")
    op.drop_index("ix_outbox_rendering", "notification_outbox")
    op.execute(
        "UPDATE notification_outbox SET status = 'pending', render_context = NULL WHERE status = 'rendering'"
    )
    op.drop_constraint("notification_outbox_status_check", "notification_outbox")
    op.create_check_constraint("notification_outbox_status_check", "notification_outbox", _statuses(STATUSES))
    op.drop_column("notification_outbox", "template_fallback")
    op.drop_column("notification_outbox", "render_context")
