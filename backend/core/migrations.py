"""Running Alembic from code: `frontdesk migrate`, server start-up and the test suite."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from alembic import command

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def upgrade_to_head(database_url: str) -> None:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    # alembic/env.py runs its own event loop; a worker thread keeps it clear of any loop running here.
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(command.upgrade, config, "head").result()


def head_revision() -> str:
    """The newest migration this code knows, read from the scripts (no database)."""
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    head = script.get_current_head()
    assert head is not None
    return head


def known_revisions() -> frozenset[str]:
    """Every migration this code has: a database at another revision is newer than the code."""
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    return frozenset(revision.revision for revision in script.walk_revisions())
