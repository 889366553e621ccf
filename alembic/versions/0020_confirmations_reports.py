"""Confirmations and the clinic's figures.

Appointments say when and how the patient confirmed (`confirmed_at`, `confirmed_via`), whether they
said they are running late (`late_minutes`, `late_noticed_at`), and how they were booked
(`booked_via`: conversation | staff | api | waitlist | system, and the conversation when there was
one) so the reports can split bookings by channel and by who finished them. Existing appointments
get `booked_via` from their `appointment.booked` audit row. One-click reminder links are used once:
`reminder_link_uses` remembers each link's nonce. The indexes are the ones the reports read by.

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0020"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
BOOKED_VIA_FROM_AUDIT = """
UPDATE appointments AS a
   SET booked_via = CASE
         WHEN l.actor LIKE 'conversation:%' THEN 'conversation'
         WHEN l.actor LIKE 'staff:%' THEN 'staff'
         WHEN l.actor LIKE 'key:%' THEN 'api'
         WHEN l.actor LIKE 'waitlist:%' THEN 'waitlist'
         ELSE 'system' END,
       conversation_id = CASE
         WHEN l.actor ~ '^conversation:[0-9a-f-]{36}$'
          AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = CAST(substr(l.actor, 14) AS uuid))
         THEN CAST(substr(l.actor, 14) AS uuid) END
  FROM audit_log AS l
 WHERE l.action = 'appointment.booked' AND l.entity_id = CAST(a.id AS text)
"""


def upgrade() -> None:
    op.add_column("appointments", sa.Column("confirmed_at", TS))
    op.add_column("appointments", sa.Column("confirmed_via", sa.String(16)))
    op.add_column("appointments", sa.Column("late_minutes", sa.SmallInteger))
    op.add_column("appointments", sa.Column("late_noticed_at", TS))
    op.add_column("appointments", sa.Column("booked_via", sa.String(16)))
    op.add_column(
        "appointments",
        sa.Column(
            "conversation_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
        ),
    )
    op.execute(BOOKED_VIA_FROM_AUDIT)
    op.create_index("ix_appointments_tenant_created", "appointments", ["tenant_id", "created_at"])
    op.create_index("ix_appointments_conversation_id", "appointments", ["conversation_id"])
    op.create_index(
        "ix_domain_events_tenant_type_occurred", "domain_events", ["tenant_id", "type", "occurred_at"]
    )
    op.create_index("ix_conversations_tenant_created", "conversations", ["tenant_id", "created_at"])
    op.create_table(
        "reminder_link_uses",
        sa.Column("nonce", sa.String(32), primary_key=True),
        sa.Column(
            "tenant_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "appointment_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("appointments.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("used_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reminder_link_uses")
    op.drop_index("ix_conversations_tenant_created", table_name="conversations")
    op.drop_index("ix_domain_events_tenant_type_occurred", table_name="domain_events")
    op.drop_index("ix_appointments_conversation_id", table_name="appointments")
    op.drop_index("ix_appointments_tenant_created", table_name="appointments")
    for column in ("conversation_id", "booked_via", "late_noticed_at", "late_minutes", "confirmed_via"):
        op.drop_column("appointments", column)
    op.drop_column("appointments", "confirmed_at")
