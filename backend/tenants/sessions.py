"""Workspace sessions: kept in PostgreSQL (so they can be listed and revoked), known by the SHA-256
of the cookie, ending after idle time and in any case after an absolute lifetime.

CSRF: every state-changing request made with a session must carry the session's CSRF token (a
form field or the `X-CSRF-Token` header). The token is an HMAC of the session's own secret, so it
needs no storage, changes with every session, and a page from another site cannot know it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.schemas import TenantSettings
from backend.core.settings import Settings
from backend.tenants import two_factor
from backend.tenants.models import StaffSession, StaffUser, Tenant

COOKIE = "frontdesk_session"
# Revocations are announced on this channel when they commit (triggers, migration 0015), named by
# the room of the live connections they end: a session signed out ("session:<id>"), a member
# removed or given another role ("staff:<id>"), a widget key revoked ("key:<id>").
REVOKED_CHANNEL = "frontdesk_revoked"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Writing last_seen_at on every request would be a write per click; once a minute keeps idle
# expiry accurate to the minute.
SEEN_RESOLUTION = timedelta(minutes=1)


def session_room(session_id: uuid.UUID) -> str:
    return f"session:{session_id}"


def member_room(staff_id: uuid.UUID) -> str:
    return f"staff:{staff_id}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"frontdesk-csrf", hashlib.sha256).hexdigest()


def csrf_ok(token: str, given: str | None) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters, and a header may carry them.
    return given is not None and hmac.compare_digest(csrf_for(token).encode(), given.encode())


@dataclass(frozen=True)
class SignedIn:
    session: StaffSession
    user: StaffUser
    tenant: Tenant
    token: str

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)

    @property
    def must_enrol(self) -> bool:
        """The clinic requires a second factor this member has not set up: enrolment only."""
        return two_factor.must_enrol(self.user, TenantSettings.model_validate(self.tenant.settings))


async def open_session(
    session: AsyncSession, settings: Settings, user: StaffUser, user_agent: str, now: datetime
) -> str:
    """A new session for `user`; the token goes into the cookie and nowhere else."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            staff_id=user.id,
            tenant_id=user.tenant_id,
            token_hash=_hash(token),
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.staff_session_hours),
            user_agent=user_agent[:300],
        )
    )
    return token


async def signed_in(session: AsyncSession, settings: Settings, token: str, now: datetime) -> SignedIn | None:
    """The live session this cookie names, with its user and tenant; None if it has ended."""
    row = (
        await session.execute(
            select(StaffSession, StaffUser, Tenant)
            .join(StaffUser, StaffUser.id == StaffSession.staff_id)
            .join(Tenant, Tenant.id == StaffSession.tenant_id)
            .where(StaffSession.token_hash == _hash(token))
        )
    ).first()
    if row is None:
        return None
    staff_session, user, tenant = row
    idle_limit = staff_session.last_seen_at + timedelta(minutes=settings.staff_session_idle_minutes)
    if (
        staff_session.revoked_at is not None
        or staff_session.expires_at <= now
        or idle_limit <= now
        or user.removed_at is not None
    ):
        return None
    if staff_session.last_seen_at < now - SEEN_RESOLUTION:
        staff_session.last_seen_at = now
    return SignedIn(staff_session, user, tenant, token)


async def end(session: AsyncSession, token: str, now: datetime) -> None:
    found = await session.scalar(select(StaffSession).where(StaffSession.token_hash == _hash(token)))
    if found is not None and found.revoked_at is None:
        found.revoked_at = now
