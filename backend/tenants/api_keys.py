"""Tenant API keys: secret keys for servers, publishable keys for the chat widget.

Only a SHA-256 hash and a short visible prefix are stored; the full key is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller
from backend.core.errors import Conflict, NotFound
from backend.tenants.models import ApiKey, Tenant

KEY_PREFIXES = {"secret": "sk_live_", "publishable": "pk_live_"}
VISIBLE_CHARS = 8  # after the kind prefix: enough to tell keys apart in a list, useless to an attacker
# Recording every use would be a write per request; once a minute is plenty for "last used".
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def masked(key: ApiKey) -> str:
    return f"{key.prefix}…"


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    key: str


async def issue(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    name: str = "",
    allowed_origins: list[str] | None = None,
) -> IssuedKey:
    key = KEY_PREFIXES[kind] + secrets.token_urlsafe(32)
    row = ApiKey(
        tenant_id=tenant_id,
        kind=kind,
        name=name or f"{kind} key",
        prefix=key[: len(KEY_PREFIXES[kind]) + VISIBLE_CHARS],
        key_hash=hash_key(key),
        allowed_origins=allowed_origins or [],
    )
    session.add(row)
    await session.flush()
    return IssuedKey(row=row, key=key)


async def create(
    session: AsyncSession, caller: Caller, kind: str, name: str, allowed_origins: list[str]
) -> IssuedKey:
    issued = await issue(session, caller.tenant.id, kind, name, allowed_origins)
    audit.record(
        session,
        caller,
        "api_key.created",
        "api_key",
        issued.row.id,
        {"kind": kind, "prefix": issued.row.prefix, "allowed_origins": allowed_origins},
    )
    return issued


async def authenticate(session: AsyncSession, key: str, now: datetime) -> tuple[ApiKey, Tenant] | None:
    """The live key and its tenant, or None for an unknown or revoked key."""
    row = (
        await session.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    api_key, tenant = row
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
        api_key.last_used_at = now
    return api_key, tenant


async def list_keys(session: AsyncSession, tenant_id: uuid.UUID) -> list[ApiKey]:
    rows = await session.execute(
        select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at, ApiKey.id)
    )
    return list(rows.scalars())


async def revoke(session: AsyncSession, caller: Caller, key_id: uuid.UUID, now: datetime) -> ApiKey:
    key = (
        await session.execute(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.tenant_id == caller.tenant.id).with_for_update()
        )
    ).scalar_one_or_none()
    if key is None:
        raise NotFound(f"API key {key_id} not found", details={"key_id": str(key_id)})
    if key.revoked_at is not None:
        return key
    if key.kind == "secret":
        # Locking every live secret key serialises two revocations racing for the last two keys.
        live_secrets = (
            await session.execute(
                select(ApiKey.id)
                .where(
                    ApiKey.tenant_id == caller.tenant.id, ApiKey.kind == "secret", ApiKey.revoked_at.is_(None)
                )
                .with_for_update()
            )
        ).all()
        if len(live_secrets) == 1:
            raise Conflict(
                "this is the last live secret key; create another before revoking it",
                details={"key_id": str(key_id)},
            )
    key.revoked_at = now
    audit.record(session, caller, "api_key.revoked", "api_key", key.id, {"prefix": key.prefix})
    return key
