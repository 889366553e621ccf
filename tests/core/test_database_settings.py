"""Production PostgreSQL: TLS from the URL, a statement timeout, PgBouncer's transaction pooling."""

from __future__ import annotations

from sqlalchemy import text

from backend.core.db import connect_args
from backend.core.settings import Settings, to_asyncpg_url


def test_sslmode_in_the_url_is_honoured_by_asyncpg():
    url = to_asyncpg_url("postgresql://app:secret@db.example:5432/frontdesk?sslmode=verify-full")
    assert url == "postgresql+asyncpg://app:secret@db.example:5432/frontdesk?ssl=verify-full"


def test_pgbouncer_mode_turns_off_prepared_statement_caches():
    assert connect_args(Settings(_env_file=None, db_pgbouncer=True)) == {
        "timeout": 5,
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
    }
    assert connect_args(Settings(_env_file=None, db_statement_timeout_ms=0)) == {"timeout": 5}


async def test_statements_are_bounded_by_the_configured_timeout(db):
    async def setting(session):
        return (await session.execute(text("SHOW statement_timeout"))).scalar()

    assert await db.transaction(setting) == "30s"
