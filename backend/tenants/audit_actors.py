"""Who an audit row's actor is, as the clinic knows them: a member of staff by name and e-mail, an
API key by its name, the receptionist, the system. The stored actor stays the stable id
("staff:<id>", "key:<prefix>", "conversation:<id>"); the name is looked up when the log is read, so
a renamed member reads as they are called now and a removed one is still named."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.tenants.models import ApiKey, StaffUser

# Actors that are not a person or a key of the clinic, by the part before the colon.
_FIXED = {
    "conversation": "Receptionist",
    "patient": "Patient",
    "reminder_link": "Patient (reminder link)",
    "waitlist": "Waitlist offer",
    "worker": "System",
    "system": "System",
    "admin": "Platform administrator",
    "carrier": "Phone carrier",
    "cli": "Command line",
}


# How a patient reached the clinic, as people say it.
_BY = {"sms": "text", "voice": "phone", "web": "web chat"}


async def actor_names(session: AsyncSession, tenant: TenantContext, actors: Iterable[str]) -> dict[str, str]:
    """Each of `actors` (as stored in the audit log) with the name a person reads."""
    distinct = set(actors)
    staff_ids = {_uuid(a.removeprefix("staff:")) for a in distinct if a.startswith("staff:")} - {None}
    prefixes = {a.removeprefix("key:") for a in distinct if a.startswith("key:")}
    members = (
        await session.scalars(
            select(StaffUser).where(StaffUser.tenant_id == tenant.id, StaffUser.id.in_(staff_ids))
        )
        if staff_ids
        else []
    )
    keys = (
        await session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant.id, ApiKey.prefix.in_(prefixes))
        )
        if prefixes
        else []
    )
    known = {f"staff:{m.id}": _member(m) for m in members} | {
        f"key:{k.prefix}": f"API key “{k.name}”" for k in keys
    }
    return {actor: known.get(actor) or _fixed(actor) for actor in distinct}


def _member(member: StaffUser) -> str:
    return f"{member.name} ({member.email})" + (" (removed)" if member.removed_at else "")


def _fixed(actor: str) -> str:
    kind, _, what = actor.partition(":")
    if kind == "staff":
        return "A member of staff no longer on record"
    if kind == "key":
        return f"API key {what}"
    if kind == "patient" and what:
        return f"Patient (by {_BY.get(what, what)})"
    if kind in ("system", "cli") and what:
        return f"{_FIXED[kind]} ({what.replace('-', ' ')})"
    return _FIXED.get(kind, actor)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
