"""Wake-ups for live work: a turn's lease given back, and revocations that end live connections.

NOTIFY is delivered when the transaction commits (and never if it rolls back), to every API
process listening (backend/core/listener.py):
- `frontdesk_turns` with a conversation's id when its turn lease is given back, so a message of
  that conversation waiting in another process takes its turn at once, without asking again and
  again (backend/conversations/turn_gate.py);
- `frontdesk_revoked` with the room of the live connections to end (channels/revocations.py):
  "session:<id>" when a workspace session is revoked (sign-out, sign-out everywhere, a password
  reset, the member removed), "staff:<id>" when a member is removed or given another role, and
  "key:<id>" when a widget key is revoked.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (trigger, table, the condition, the payload)
TRIGGERS = (
    (
        "conversations_turn_released",
        "conversations",
        "OLD.turn_lease_until IS NOT NULL AND NEW.turn_lease_until IS NULL",
        "pg_notify('frontdesk_turns', NEW.id::text)",
    ),
    (
        "staff_sessions_revoked",
        "staff_sessions",
        "OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL",
        "pg_notify('frontdesk_revoked', 'session:' || NEW.id::text)",
    ),
    (
        "staff_users_changed",
        "staff_users",
        "OLD.role IS DISTINCT FROM NEW.role OR (OLD.removed_at IS NULL AND NEW.removed_at IS NOT NULL)",
        "pg_notify('frontdesk_revoked', 'staff:' || NEW.id::text)",
    ),
    (
        "api_keys_revoked",
        "api_keys",
        "OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL",
        "pg_notify('frontdesk_revoked', 'key:' || NEW.id::text)",
    ),
)


def upgrade() -> None:
    for trigger, table, condition, notify in TRIGGERS:
        op.execute(
            f"""
            CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM {notify};
                RETURN NULL;
            END $$;
            """
        )
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({condition}) EXECUTE FUNCTION {trigger}()"
        )


def downgrade() -> None:
    for trigger, table, _, _ in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.execute(f"DROP FUNCTION {trigger}()")
