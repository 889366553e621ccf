"""Audit rows no longer name a texter by phone number.

Texts handled by keyword (STOP, START, HELP) were audited with the actor `sms:<phone number>`, a
patient's number in a column that is shown and filtered as is. New rows say `patient:sms` (the
number stays in the redacted details); this rewrites the old ones. Not reversible: the numbers are
gone on purpose.

Revision ID: 0026
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE audit_log SET actor = 'patient:sms' WHERE actor LIKE 'sms:%'")


def downgrade() -> None:
    pass
