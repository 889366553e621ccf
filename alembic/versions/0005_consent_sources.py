"""Where a patient's consent to texts and e-mails came from, and when: the widget or a chat answer,
the API, or a START keyword. The flags stay on `customers`; each change is also in the audit log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCES = ("chat", "api", "keyword", "unknown")


def upgrade() -> None:
    for channel in ("sms", "email"):
        op.add_column("customers", sa.Column(f"{channel}_consent_source", sa.String(16)))
        op.add_column("customers", sa.Column(f"{channel}_consent_at", sa.DateTime(timezone=True)))
        # Consent recorded before sources were kept: known to be given, not how.
        op.execute(
            f"UPDATE customers SET {channel}_consent_source = 'unknown', {channel}_consent_at = created_at"  # noqa: S608 (fixed names)
        )
        op.create_check_constraint(
            f"ck_customers_{channel}_consent_source",
            "customers",
            f"{channel}_consent_source IN ({', '.join(repr(s) for s in SOURCES)})",
        )


def downgrade() -> None:
    for channel in ("sms", "email"):
        op.drop_constraint(f"ck_customers_{channel}_consent_source", "customers")
        op.drop_column("customers", f"{channel}_consent_at")
        op.drop_column("customers", f"{channel}_consent_source")
