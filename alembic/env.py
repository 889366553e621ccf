"""Alembic runs migrations through the same async engine settings as the app.

The caller (backend.core.migrations) passes the database URL in the config's attributes; run from the
command line, `alembic` uses DATABASE_URL from backend.core.settings.
"""

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context
from backend.core.settings import get_settings, to_asyncpg_url
from backend.tables import metadata

config = context.config
target_metadata = metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or get_settings().database_url
    if not url:
        raise RuntimeError(
            "DATABASE_URL is not set (use `frontdesk migrate` to run against the embedded server)"
        )
    return to_asyncpg_url(url)


# Several api/worker processes may start at once; only one migrates at a time.
MIGRATION_LOCK_KEY = 7_305_112_017


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_database_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
