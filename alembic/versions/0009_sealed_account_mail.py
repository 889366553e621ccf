"""Account e-mails (invitations, password resets) are readable only by their recipient.

Their text (which holds a sign-in link) is sealed with the key ring and bound to the row, opened
only by the dispatcher to send it, and erased once the row is final; the readable `body` says what
the e-mail was without its link. Rows queued before this revision lose their text here: their links
stay valid for whoever received them, but no API or page can show them any more.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITHHELD = "This e-mail held a private sign-in link; only its recipient can read it."


def upgrade() -> None:
    op.add_column("notification_outbox", sa.Column("sealed_body", sa.Text(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE notification_outbox SET body = :withheld WHERE kind IN ('staff_invite', 'staff_reset')"
        ).bindparams(withheld=WITHHELD)
    )


def downgrade() -> None:
    op.drop_column("notification_outbox", "sealed_body")
