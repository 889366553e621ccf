"""Failed sign-ins are counted per account and address, so nobody can keep an owner locked out.

Counts move from the account row (`staff_users.failed_logins`, `locked_until`) to one row per
(e-mail address, client address), and one per e-mail address for all addresses together (`*`);
the e-mail address is kept as its SHA-256 only, whether or not an account has it. Quiet hours
stored with a UTC offset (accepted before wall-clock times were checked) keep their wall-clock
time: the offset was never applied and would now be refused.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
WALL_CLOCK = r"^\d{2}:\d{2}(:\d{2})?$"
WALL_CLOCK_PREFIX = r"^\d{2}:\d{2}(?::\d{2})?"
KEEP_WALL_CLOCK = sa.text(
    """
    UPDATE tenants
       SET settings = jsonb_set(
             settings,
             ARRAY[CAST(:field AS text)],
             to_jsonb(substring(settings->>CAST(:field AS text) from CAST(:prefix AS text))))
     WHERE settings ? CAST(:field AS text)
       AND settings->>CAST(:field AS text) !~ CAST(:wall_clock AS text)
    """
)


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("email_key", sa.String(64), primary_key=True),
        # The client's address, or "*" for the e-mail address's failures from every address.
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("window_started_at", TS, nullable=False),
        sa.Column("locked_until", TS),
        # Set when the account signed in from this address: its lockout of new addresses passes it.
        sa.Column("signed_in_at", TS),
    )
    op.create_index("ix_sign_in_attempts_window", "sign_in_attempts", ["window_started_at"])
    op.drop_column("staff_users", "failed_logins")
    op.drop_column("staff_users", "locked_until")
    for field in ("quiet_hours_start", "quiet_hours_end"):
        op.execute(KEEP_WALL_CLOCK.bindparams(field=field, prefix=WALL_CLOCK_PREFIX, wall_clock=WALL_CLOCK))


def downgrade() -> None:
    op.add_column("staff_users", sa.Column("locked_until", TS))
    op.add_column("staff_users", sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
    op.drop_index("ix_sign_in_attempts_window", "sign_in_attempts")
    op.drop_table("sign_in_attempts")
