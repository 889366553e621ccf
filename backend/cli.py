"""The `frontdesk` command: serve, run the worker, migrate, seed the demo tenant, converse, back up
and restore."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from backend.app import asgi, create_app
from backend.calendars import connections as calendars
from backend.converse import command as converse_command
from backend.core import backups, embedded, logs, migrations
from backend.core.context import Caller, TenantContext
from backend.core.db import Database
from backend.core.errors import AppError
from backend.core.settings import Settings, get_settings
from backend.events import signing_secrets
from backend.serving import WorkerSupervisor, exit_cleanly_on_sigterm, service_environment
from backend.telephony import twilio_accounts
from backend.tenants import api_keys, demo, two_factor
from backend.tenants import service as tenants
from backend.tenants import staff as staff_accounts
from backend.worker import run as run_worker

log = logging.getLogger("frontdesk")


def _resolved_settings() -> Settings:
    """Settings with running PostgreSQL and Redis behind them, the schema as it is."""
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_lines)
    settings = embedded.ensure_secrets(embedded.ensure_admin_secret(embedded.resolve_services(settings)))
    assert settings.database_url is not None
    return settings


def _prepared_settings() -> Settings:
    """Settings with running PostgreSQL and Redis behind them, schema at head."""
    settings = _resolved_settings()
    assert settings.database_url is not None
    migrations.upgrade_to_head(settings.database_url)
    return settings


def _remembered(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def _remember(path: Path, key: str) -> None:
    path.write_text(key)
    path.chmod(0o600)


def _seed_demo(settings: Settings) -> demo.DemoTenant:
    key_file = settings.data_dir / "demo_api_key"
    widget_file = settings.data_dir / "demo_widget_key"
    password_file = settings.data_dir / "demo_owner_password"
    remembered_password = _remembered(password_file)
    password = remembered_password or secrets.token_urlsafe(12)
    # The demo page is served by this server, so the widget key allows this server's own origins.
    served = {f"http://{host}:{settings.port}" for host in (settings.host, "localhost", "127.0.0.1")}
    origins = sorted(served | {settings.public_base_url.rstrip("/").lower()})

    async def seed() -> demo.DemoTenant:
        db = Database(settings)
        try:
            return await demo.seed(
                db,
                _remembered(key_file),
                _remembered(widget_file),
                origins,
                password,
                new_password=not remembered_password,
            )
        finally:
            await db.dispose()

    tenant = asyncio.run(seed())
    _remember(key_file, tenant.api_key)
    _remember(widget_file, tenant.widget_key)
    _remember(password_file, password)
    return tenant


def _print_demo(settings: Settings, tenant: demo.DemoTenant) -> None:
    base = f"http://{settings.host}:{settings.port}"
    state = "created" if tenant.created else "already present"
    print(
        f"\n  Demo tenant: {tenant.name} ({state})\n"
        f"  API key:     {tenant.api_key}\n"
        f"  Admin secret is in {settings.data_dir / 'admin_secret'} (header X-Admin-Secret)\n"
        f"  Demo page:   {base}/demo  (the chat widget on a sample clinic site)\n"
        f"  Workspace:   {base}/app  sign in as {tenant.owner_email}, password in "
        f"{settings.data_dir / 'demo_owner_password'}\n"
        f"  API docs:    {base}/docs\n"
        f"  Try:         curl -H 'Authorization: Bearer {tenant.api_key}' {base}/api/v1/services\n",
        flush=True,
    )


def serve(args: argparse.Namespace) -> None:
    settings = _prepared_settings()
    settings = settings.model_copy(
        update={"host": args.host or settings.host, "port": args.port or settings.port}
    )
    widget_key = None
    if args.demo:
        tenant = _seed_demo(settings)
        _print_demo(settings, tenant)
        widget_key = tenant.widget_key
    exit_cleanly_on_sigterm()
    if not args.demo:  # the demo's banner says where it is
        log.info("serving http://%s:%d (Ctrl+C stops it)", settings.host, settings.port)
    supervisor = WorkerSupervisor(settings) if args.with_worker else None
    if supervisor is not None:
        supervisor.start()
    try:
        if args.workers > 1:
            # Each uvicorn process builds the app from the environment (`backend.served`).
            os.environ.update(service_environment(settings))
            if widget_key:
                os.environ["DEMO_WIDGET_KEY"] = widget_key
            target: Any = "backend.served:application"
        else:
            target = asgi(create_app(settings, demo_widget_key=widget_key))
        uvicorn.run(
            target,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            timeout_worker_healthcheck=settings.api_process_healthcheck_seconds,
            # On SIGTERM, requests and chat turns in flight get this long to finish.
            timeout_graceful_shutdown=30,
            # logs.configure's handlers, levels and access-log redaction, untouched by uvicorn.
            log_level=None,
            log_config=None,
        )
    finally:
        if supervisor is not None:
            supervisor.stop()
        log.info("stopped")


def worker(args: argparse.Namespace) -> None:
    settings = _prepared_settings()
    os.nice(settings.worker_niceness)
    uvloop.run(run_worker(settings))


def migrate(args: argparse.Namespace) -> None:
    _prepared_settings()
    log.info("database schema is at head")


def rekey(args: argparse.Namespace) -> None:
    """Seal stored secrets again under the first key of SECRETS_KEYS."""
    settings = _prepared_settings()
    ring = settings.key_ring

    async def run() -> tuple[int, int, int, int]:
        db = Database(settings)

        async def work(session: AsyncSession) -> tuple[int, int, int, int]:
            return (
                await signing_secrets.reseal_all(session, ring),
                await calendars.reseal_all(session, ring),
                await two_factor.reseal_all(session, ring),
                await twilio_accounts.reseal_all(session, ring),
            )

        try:
            return await db.transaction(work)
        finally:
            await db.dispose()

    endpoints, connections, staff_secrets, twilio_tokens = asyncio.run(run())
    log.info(
        "sealed the secrets of %d webhook endpoints, %d calendar connections, %d two-factor sign-ins"
        " and %d clinics' Twilio accounts again under key %s",
        endpoints,
        connections,
        staff_secrets,
        twilio_tokens,
        ring.current,
    )


def backup(args: argparse.Namespace) -> None:
    """The database (pg_dump, custom format) and a manifest: its schema revision and key ids."""
    try:
        manifest = backups.backup(_resolved_settings(), Path(args.directory))
    except backups.BackupRefused as refusal:
        raise SystemExit(f"frontdesk backup: {refusal}") from None
    print(
        f"backed up schema {manifest.alembic_revision} to {args.directory} "
        f"(secrets sealed with key(s) {', '.join(manifest.key_ids)}: keep SECRETS_KEYS, separately)"
    )


def restore(args: argparse.Namespace) -> None:
    """A backup into an empty database, then migrated to this code's schema."""
    try:
        manifest = backups.restore(_resolved_settings(), Path(args.directory))
    except backups.BackupRefused as refusal:
        raise SystemExit(f"frontdesk restore: {refusal}") from None
    made, schema = manifest["created_at"], manifest["alembic_revision"]
    print(f"restored the backup of {made} (schema {schema}, now at head)")


def seed_demo(args: argparse.Namespace) -> None:
    settings = _prepared_settings()
    _print_demo(settings, _seed_demo(settings))


def create_owner(args: argparse.Namespace) -> None:
    """A first (or another) owner for a clinic; the password is asked for, never an argument."""
    settings = _prepared_settings()
    password = os.environ.get("FRONTDESK_OWNER_PASSWORD") or getpass.getpass("Password (10+ characters): ")

    async def run() -> str:
        db = Database(settings)
        try:
            return await db.transaction(
                lambda session: staff_accounts.create_owner_for(
                    session, args.tenant, args.email, args.name, password
                )
            )
        finally:
            await db.dispose()

    try:
        tenant_name = asyncio.run(run())
    except AppError as problem:
        raise SystemExit(f"frontdesk create-owner: {problem.message}") from None
    print(f"{args.email} is now an owner of {tenant_name}; sign in at {settings.public_base_url}/app")


def converse(args: argparse.Namespace) -> None:
    """Scripted conversations against a clinic; see `backend.converse.command`."""
    settings = get_settings()
    logs.configure("WARNING", settings.log_lines)
    admin = args.admin_secret or _secret_value(settings.admin_secret)
    if admin is None and (settings.data_dir / "admin_secret").exists():
        admin = _remembered(settings.data_dir / "admin_secret")

    # Without a key, the clinic is this machine's own, reached through its database.
    local = embedded.resolve_services(settings) if args.key is None and not args.fresh_clinics else settings

    async def temporary_key(slug: str) -> tuple[str, str]:
        """A secret key of the clinic, for this run only."""
        db = Database(local)

        async def issue(session: AsyncSession) -> tuple[str, str]:
            tenant = await tenants.get_by_slug(session, slug)
            if tenant is None:
                raise converse_command.ClinicProblem(f"no clinic with the slug {slug!r} here")
            caller = Caller(TenantContext.of(tenant), "cli:converse", "converse")
            issued = await api_keys.create(session, caller, "secret", "frontdesk converse (this run)", [])
            return issued.key, str(issued.row.id)

        try:
            return await db.transaction(issue)
        finally:
            await db.dispose()

    status = asyncio.run(
        converse_command.converse(
            args,
            base_url=(args.base_url or settings.public_base_url).rstrip("/"),
            admin_secret=admin,
            sms_token=args.twilio_auth_token or _secret_value(settings.twilio_auth_token),
            temporary_key=temporary_key,
        )
    )
    raise SystemExit(status)


def _secret_value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="frontdesk", description="Frontdesk AI receptionist server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="migrate, then serve the API")
    serve_cmd.add_argument("--host", default=None)
    serve_cmd.add_argument("--port", type=int, default=None)
    serve_cmd.add_argument("--demo", action="store_true", help="seed the demo tenant and print its API key")
    serve_cmd.add_argument(
        "--with-worker", action="store_true", help="also run `frontdesk worker` (restarted if it dies)"
    )
    serve_cmd.add_argument("--workers", type=int, default=1, help="uvicorn processes serving the API")
    serve_cmd.set_defaults(run=serve)

    commands.add_parser(
        "worker", help="run the arq worker: send the outbox, reminders and follow-ups"
    ).set_defaults(run=worker)

    commands.add_parser("migrate", help="bring the database schema to the latest version").set_defaults(
        run=migrate
    )
    commands.add_parser(
        "rekey", help="seal stored secrets again under the current key of SECRETS_KEYS"
    ).set_defaults(run=rekey)
    backup_cmd = commands.add_parser("backup", help="dump the database and a manifest into a new directory")
    backup_cmd.add_argument("directory")
    backup_cmd.set_defaults(run=backup)
    restore_cmd = commands.add_parser("restore", help="restore a backup into an empty database")
    restore_cmd.add_argument("directory")
    restore_cmd.set_defaults(run=restore)
    commands.add_parser("seed-demo", help="create the demo tenant, print its API key").set_defaults(
        run=seed_demo
    )

    owner_cmd = commands.add_parser("create-owner", help="add an owner to a clinic (asks for the password)")
    owner_cmd.add_argument("--tenant", required=True, help="the clinic's slug")
    owner_cmd.add_argument("--email", required=True)
    owner_cmd.add_argument("--name", required=True)
    owner_cmd.set_defaults(run=create_owner)

    converse_command.add_parser(commands).set_defaults(run=converse)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
