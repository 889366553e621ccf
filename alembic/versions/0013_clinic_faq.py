"""The clinic's FAQ: what the receptionist may answer from the clinic's own words.

Each entry is one answer with the several ways patients ask for it, an optional topic (address,
parking, insurance, prices, payment, what to bring, visit length, cancellation policy, other) and
its place in the list. Owned by backend/faq, in list order.

A tenant's `practice_revision` counts changes to what the receptionist is told about the practice
(its FAQ): the tenant row is read for every message anyway, so a process keeps what it read under
that revision and reads the FAQ again only when the revision moved, in whichever process changed it.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
TOPICS = (
    "address",
    "parking",
    "insurance",
    "prices",
    "payment",
    "what_to_bring",
    "visit_length",
    "cancellation_policy",
    "other",
)


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("questions", ARRAY(sa.Text), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("topic", sa.String(32)),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("cardinality(questions) >= 1", name="faq_entries_questions_check"),
        sa.CheckConstraint("length(answer) >= 1", name="faq_entries_answer_check"),
        sa.CheckConstraint(
            "topic IN (" + ", ".join(f"'{t}'" for t in TOPICS) + ")", name="faq_entries_topic_check"
        ),
    )
    # The receptionist reads a clinic's whole FAQ in list order.
    op.create_index("ix_faq_entries_tenant_position", "faq_entries", ["tenant_id", "position", "created_at"])
    op.add_column(
        "tenants", sa.Column("practice_revision", sa.BigInteger, nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("tenants", "practice_revision")
    op.drop_table("faq_entries")
