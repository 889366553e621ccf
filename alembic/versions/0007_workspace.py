"""The clinic's workspace: staff accounts, their sessions and one-time links; conversations a person
can take over; customers that can be erased.

Staff passwords are argon2 hashes (passlib); a session is known by the SHA-256 of its cookie, so a
copy of the table logs nobody in. Invitation and password-reset links are stored the same way and
work once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
CONSENT_SOURCES = ("chat", "api", "keyword", "unknown")
OUTBOX_STATUSES = (
    "pending",
    "sending",
    "sent",
    "failed",
    "permanently_failed",
    "rate_limited",
    "opted_out",
    "suppressed",
)


def _in(values: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _tenant() -> sa.Column:
    return sa.Column(
        "tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        _tenant(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        # Unset until an invitation is accepted.
        sa.Column("password_hash", sa.Text),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TS),
        sa.Column("last_login_at", TS),
        sa.Column("removed_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("role IN ('owner', 'staff')", name="staff_users_role_check"),
    )
    # One login is one clinic: an address signs in to exactly one workspace (a removed member's
    # address may be invited again).
    op.create_index(
        "staff_users_email_key",
        "staff_users",
        [sa.text("lower(email)")],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_index("ix_staff_users_tenant", "staff_users", ["tenant_id"])

    op.create_table(
        "staff_sessions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "staff_id",
            UUID(as_uuid=True),
            sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _tenant(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("user_agent", sa.String(300), nullable=False, server_default=""),
    )
    op.create_index("ix_staff_sessions_staff", "staff_sessions", ["staff_id"])

    op.create_table(
        "staff_tokens",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "staff_id",
            UUID(as_uuid=True),
            sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("purpose IN ('invite', 'reset')", name="staff_tokens_purpose_check"),
    )

    # Who answers a conversation: the receptionist, or the member of staff who took it over.
    op.add_column(
        "conversations", sa.Column("handler", sa.String(16), nullable=False, server_default="receptionist")
    )
    op.add_column(
        "conversations",
        sa.Column("staff_id", UUID(as_uuid=True), sa.ForeignKey("staff_users.id", ondelete="SET NULL")),
    )
    op.add_column("conversations", sa.Column("taken_over_at", TS))
    op.create_check_constraint(
        "conversations_handler_check", "conversations", "handler IN ('receptionist', 'staff')"
    )
    op.drop_constraint("conversation_messages_role_check", "conversation_messages")
    op.create_check_constraint(
        "conversation_messages_role_check",
        "conversation_messages",
        "role IN ('patient', 'assistant', 'staff', 'system')",
    )
    # The inbox lists a tenant's conversations, most recent first, a page at a time.
    op.create_index(
        "ix_conversations_inbox", "conversations", ["tenant_id", sa.text("updated_at DESC"), "id"]
    )

    # Staff can cancel a message that has not gone (or failed): it is never sent.
    op.drop_constraint("notification_outbox_status_check", "notification_outbox")
    op.create_check_constraint(
        "notification_outbox_status_check", "notification_outbox", _in((*OUTBOX_STATUSES, "cancelled"))
    )

    op.add_column("customers", sa.Column("erased_at", TS))
    # An erased patient keeps no way to reach them.
    op.drop_constraint("customers_contact_check", "customers")
    op.create_check_constraint(
        "customers_contact_check",
        "customers",
        "phone IS NOT NULL OR email IS NOT NULL OR erased_at IS NOT NULL",
    )
    # An erased patient's consents are withdrawn, with the erasure as their source.
    for channel in ("sms", "email"):
        op.drop_constraint(f"ck_customers_{channel}_consent_source", "customers")
        op.create_check_constraint(
            f"ck_customers_{channel}_consent_source",
            "customers",
            f"{channel}_consent_source IN ({', '.join(repr(s) for s in (*CONSENT_SOURCES, 'erased'))})",
        )
    # Searching patients by name (case-insensitive prefix and substring).
    op.create_index("ix_customers_tenant_name", "customers", ["tenant_id", sa.text("lower(name)")])
    # The audit log viewer and the outbox list page newest first.
    op.create_index("ix_audit_log_tenant_id_desc", "audit_log", ["tenant_id", sa.text("id DESC")])
    op.create_index(
        "ix_outbox_tenant_created", "notification_outbox", ["tenant_id", sa.text("created_at DESC"), "id"]
    )


def downgrade() -> None:
    op.execute("UPDATE notification_outbox SET status = 'suppressed' WHERE status = 'cancelled'")
    op.drop_constraint("notification_outbox_status_check", "notification_outbox")
    op.create_check_constraint(
        "notification_outbox_status_check", "notification_outbox", _in(OUTBOX_STATUSES)
    )
    op.drop_index("ix_outbox_tenant_created", "notification_outbox")
    op.drop_index("ix_audit_log_tenant_id_desc", "audit_log")
    op.drop_index("ix_customers_tenant_name", "customers")
    for channel in ("sms", "email"):
        op.execute(
            f"UPDATE customers SET {channel}_consent_source = 'unknown'"  # noqa: S608 (fixed names)
            f" WHERE {channel}_consent_source = 'erased'"
        )
        op.drop_constraint(f"ck_customers_{channel}_consent_source", "customers")
        op.create_check_constraint(
            f"ck_customers_{channel}_consent_source",
            "customers",
            f"{channel}_consent_source IN ({', '.join(repr(s) for s in CONSENT_SOURCES)})",
        )
    op.execute(
        "UPDATE customers SET email = 'erased@example.invalid'"
        " WHERE erased_at IS NOT NULL AND phone IS NULL AND email IS NULL"
    )
    op.drop_constraint("customers_contact_check", "customers")
    op.create_check_constraint(
        "customers_contact_check", "customers", "phone IS NOT NULL OR email IS NOT NULL"
    )
    op.drop_column("customers", "erased_at")
    op.drop_index("ix_conversations_inbox", "conversations")
    op.drop_constraint("conversation_messages_role_check", "conversation_messages")
    op.create_check_constraint(
        "conversation_messages_role_check", "conversation_messages", "role IN ('patient', 'assistant')"
    )
    op.drop_constraint("conversations_handler_check", "conversations")
    op.drop_column("conversations", "taken_over_at")
    op.drop_column("conversations", "staff_id")
    op.drop_column("conversations", "handler")
    op.drop_table("staff_tokens")
    op.drop_table("staff_sessions")
    op.drop_table("staff_users")
