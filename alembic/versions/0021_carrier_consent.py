"""A carrier's unsubscribe (Twilio 21610) withdraws SMS consent, with the carrier as its source.

Revision ID: 0021
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCES = ("chat", "api", "keyword", "unknown", "erased")
NAME = "ck_customers_{}_consent_source"


def _allow(sources: tuple[str, ...]) -> None:
    for channel in ("sms", "email"):
        op.drop_constraint(NAME.format(channel), "customers")
        op.create_check_constraint(
            NAME.format(channel),
            "customers",
            f"{channel}_consent_source IN ({', '.join(repr(s) for s in sources)})",
        )


def upgrade() -> None:
    _allow((*SOURCES, "carrier"))


def downgrade() -> None:
    op.execute("UPDATE customers SET sms_consent_source = 'keyword' WHERE sms_consent_source = 'carrier'")
    _allow(SOURCES)
