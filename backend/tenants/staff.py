"""Staff accounts: owners and staff of a clinic, their passwords (argon2 through passlib), the
invitation and password-reset links that reach them by e-mail (through the outbox), and signing in
(with the lockout of `sign_in_guard`, which stops guessing without letting anyone lock an owner out).

A link is a random token shown once (in the e-mail); only its SHA-256 is stored, and it works once,
until it expires.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from passlib.context import CryptContext
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller, TenantContext
from backend.core.errors import AppError, Conflict, NotFound, ValidationFailed
from backend.core.settings import Settings
from backend.messaging import outbox
from backend.tenants import service as tenants
from backend.tenants import sign_in_guard, two_factor
from backend.tenants.models import StaffSession, StaffToken, StaffUser

passwords = CryptContext(schemes=["argon2"], deprecated="auto")
# Checked when the address is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = passwords.hash("not-a-password-anyone-has")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
LINK_LIFETIMES = {"invite": timedelta(days=7), "reset": timedelta(hours=1)}
# What the outbox shows of an account e-mail: never its link, which only the recipient may read.
_WITHHELD = {
    "invite": "An invitation to the workspace, with a private link only its recipient can read.",
    "reset": "A password-reset e-mail, with a private link only its recipient can read.",
}


class LoginRefused(AppError):
    status = 401
    code = "LOGIN_FAILED"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str, email: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(field, f"use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(field, f"use at most {MAX_PASSWORD} characters")
    if password.strip().lower() == email.strip().lower():
        raise ValidationFailed(field, "the password cannot be your e-mail address")


async def by_email(session: AsyncSession, email: str) -> StaffUser | None:
    return await session.scalar(
        select(StaffUser).where(
            func.lower(StaffUser.email) == email.strip().lower(), StaffUser.removed_at.is_(None)
        )
    )


async def _new_member(
    session: AsyncSession, tenant_id: uuid.UUID, email: str, name: str, role: str
) -> StaffUser:
    if await by_email(session, email) is not None:
        raise Conflict("someone already signs in with this e-mail address", details={"email": email})
    user = StaffUser(id=uuid.uuid4(), tenant_id=tenant_id, email=email.strip().lower(), name=name, role=role)
    session.add(user)
    await session.flush()
    return user


async def create_owner(
    session: AsyncSession, caller: Caller, email: str, name: str, password: str
) -> StaffUser:
    """The clinic's first owner (the admin API, the CLI, the demo), with a password set at once."""
    check_password(password, email)
    user = await _new_member(session, caller.tenant.id, email, name, "owner")
    user.password_hash = passwords.hash(password)
    audit.record(session, caller, "staff.created", "staff_user", user.id, {"role": "owner"})
    return user


async def create_owner_for(session: AsyncSession, slug: str, email: str, name: str, password: str) -> str:
    """The CLI's `create-owner`: an owner for the clinic with this slug; returns the clinic's name."""
    tenant = await tenants.get_by_slug(session, slug)
    if tenant is None:
        raise NotFound(f"no clinic with the slug {slug!r}")
    context = await tenants.get_context(session, tenant.id)
    await create_owner(session, Caller(context, "system:cli", "create-owner"), email, name, password)
    return context.name


async def invite(
    session: AsyncSession, caller: Caller, settings: Settings, email: str, name: str, role: str, now: datetime
) -> tuple[StaffUser, str]:
    """A new member of the team, who sets their own password from the link in the e-mail (returned
    too, for the admin who creates a clinic)."""
    user = await _new_member(session, caller.tenant.id, email, name, role)
    link = await _issue_link(session, user, "invite", settings, now)
    await _email(
        session,
        settings,
        caller,
        user,
        f"invite:{user.id}",
        f"You are invited to {caller.tenant.name} on Frontdesk",
        f"Hello {name},\n\n{caller.staff_name or 'Frontdesk'} invited you to the {caller.tenant.name} "
        f"workspace on Frontdesk. Choose your password here (the link works once, for 7 days):\n\n"
        f"{link}\n",
        now,
    )
    audit.record(session, caller, "staff.invited", "staff_user", user.id, {"role": role})
    return user, link


async def request_reset(session: AsyncSession, settings: Settings, email: str, now: datetime) -> None:
    """E-mail a reset link if the address belongs to someone; say nothing either way."""
    user = await by_email(session, email)
    if user is None or user.password_hash is None:
        return
    tenant = await tenants.get_context(session, user.tenant_id)
    caller = Caller(tenant, f"staff:{user.id}", f"reset:{user.id}")
    await _withdraw_links(session, user, "reset", now)
    link = await _issue_link(session, user, "reset", settings, now)
    await _email(
        session,
        settings,
        caller,
        user,
        f"reset:{user.id}:{now.isoformat()}",
        f"Reset your Frontdesk password for {tenant.name}",
        f"Hello {user.name},\n\nSomeone (we hope you) asked to reset your password. Choose a new one "
        f"here; the link works once, for an hour:\n\n{link}\n\nIf it was not you, ignore this e-mail.\n",
        now,
    )
    audit.record(session, caller, "staff.password_reset_requested", "staff_user", user.id)


async def _issue_link(
    session: AsyncSession, user: StaffUser, purpose: str, settings: Settings, now: datetime
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        StaffToken(
            staff_id=user.id,
            purpose=purpose,
            token_hash=_hash(token),
            expires_at=now + LINK_LIFETIMES[purpose],
        )
    )
    return f"{settings.public_base_url.rstrip('/')}/app/{purpose}/{token}"


async def _withdraw_links(session: AsyncSession, user: StaffUser, purpose: str, now: datetime) -> None:
    """Only the newest link works: one asked for earlier stops working when a new one is sent."""
    await session.execute(
        update(StaffToken)
        .where(StaffToken.staff_id == user.id, StaffToken.purpose == purpose, StaffToken.used_at.is_(None))
        .values(expires_at=func.least(StaffToken.expires_at, now))
    )


async def _email(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    user: StaffUser,
    key: str,
    subject: str,
    body: str,
    now: datetime,
) -> None:
    """Queue an account e-mail. Its text holds a sign-in link, so it is sealed for the dispatcher
    alone: the outbox (and every API or page that shows it) keeps only what kind of e-mail it was."""
    purpose = key.split(":")[0]
    dedupe_key = f"staff:{key}"
    message = outbox.NewMessage(
        kind=f"staff_{purpose}",
        channel="email",
        recipient=user.email,
        subject=subject,
        body=_WITHHELD[purpose],
        sealed_body=outbox.seal_body(settings, dedupe_key, body),
        dedupe_key=dedupe_key,
        urgent=True,
    )
    await outbox.enqueue(session, caller, message, now)


async def redeem(session: AsyncSession, token: str, purpose: str, password: str, now: datetime) -> StaffUser:
    """Set the password from an invitation or reset link; the link is spent, other sessions end."""
    link = await session.scalar(
        select(StaffToken)
        .where(StaffToken.token_hash == _hash(token), StaffToken.purpose == purpose)
        .with_for_update()
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise NotFound("this link has expired or was already used; ask for a new one")
    user = await session.get_one(StaffUser, link.staff_id, with_for_update=True)
    if user.removed_at is not None:
        raise NotFound("this account no longer exists")
    check_password(password, user.email)
    link.used_at = now
    user.password_hash = passwords.hash(password)
    await sign_in_guard.forget(session, user.email)
    await end_sessions(session, user.id, now)
    return user


async def link_holder(session: AsyncSession, token: str, purpose: str, now: datetime) -> StaffUser | None:
    """Who a live link belongs to (to greet them on its page), or None."""
    link = await session.scalar(
        select(StaffToken).where(StaffToken.token_hash == _hash(token), StaffToken.purpose == purpose)
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    return await session.get(StaffUser, link.staff_id)


async def authenticate(
    session: AsyncSession, settings: Settings, email: str, password: str, address: str, now: datetime
) -> StaffUser:
    """The account, if the password is right and this address need not wait (TooManyFailures);
    LoginRefused says nothing of which part was wrong, and an unknown address is answered, counted
    and locked exactly like a known one."""
    attempt = sign_in_guard.attempt(email, address)
    await sign_in_guard.check(session, attempt, now)
    user = await session.scalar(
        select(StaffUser)
        .where(func.lower(StaffUser.email) == email.strip().lower(), StaffUser.removed_at.is_(None))
        .with_for_update()
    )
    known = user is not None and user.password_hash is not None
    if not passwords.verify(password, user.password_hash if known else _DUMMY_HASH) or not known:
        await sign_in_guard.failed(session, settings, attempt, now)
        raise LoginRefused("wrong e-mail address or password")
    if passwords.needs_update(user.password_hash):
        user.password_hash = passwords.hash(password)
    if not two_factor.enabled(user):
        await _signed_in(session, attempt, user, now)
    # With two-factor on, nothing is reset or remembered until the code: a right password followed
    # by wrong codes keeps counting toward the lockout.
    return user


async def authenticate_code(
    session: AsyncSession,
    settings: Settings,
    staff_id: uuid.UUID,
    email: str,
    code: str,
    address: str,
    now: datetime,
) -> StaffUser:
    """The second step of a sign-in whose password was right: a TOTP code or a recovery code,
    counted, locked and refused (LoginRefused, TooManyFailures) exactly like a password."""
    attempt = sign_in_guard.attempt(email, address)
    await sign_in_guard.check(session, attempt, now)
    user = await session.scalar(
        select(StaffUser).where(StaffUser.id == staff_id, StaffUser.removed_at.is_(None)).with_for_update()
    )
    how = await two_factor.verify(session, settings, user, code, now) if user is not None else None
    if user is None or how is None:
        await sign_in_guard.failed(session, settings, attempt, now)
        raise LoginRefused("wrong or already used code")
    if how == "recovery_code":
        tenant = await tenants.get_context(session, user.tenant_id)
        left = await two_factor.recovery_codes_left(session, user)
        caller = Caller(tenant, f"staff:{user.id}", f"sign-in:{user.id}")
        audit.record(session, caller, "staff.recovery_code_used", "staff_user", user.id, {"left": left})
    await _signed_in(session, attempt, user, now)
    return user


async def _signed_in(
    session: AsyncSession, attempt: sign_in_guard.Attempt, user: StaffUser, now: datetime
) -> None:
    await sign_in_guard.succeeded(session, attempt, now)
    user.last_login_at = now


# ---- the team ----


async def team(session: AsyncSession, tenant: TenantContext) -> list[StaffUser]:
    rows = await session.execute(
        select(StaffUser)
        .where(StaffUser.tenant_id == tenant.id, StaffUser.removed_at.is_(None))
        .order_by(StaffUser.created_at)
    )
    return list(rows.scalars())


async def alert_recipients(session: AsyncSession, tenant: TenantContext) -> list[str]:
    """Who hears about operational trouble: the clinic's alert address, then every owner."""
    owners = [member.email for member in await team(session, tenant) if member.role == "owner"]
    return list(
        dict.fromkeys([*([tenant.settings.alert_email] if tenant.settings.alert_email else []), *owners])
    )


async def member(
    session: AsyncSession, tenant: TenantContext, staff_id: uuid.UUID, *, lock: bool = False
) -> StaffUser:
    query = select(StaffUser).where(
        StaffUser.id == staff_id, StaffUser.tenant_id == tenant.id, StaffUser.removed_at.is_(None)
    )
    user = await session.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise NotFound(f"team member {staff_id} not found")
    return user


async def _keep_an_owner(session: AsyncSession, tenant: TenantContext, leaving: StaffUser) -> None:
    owners = await session.execute(
        select(StaffUser.id)
        .where(StaffUser.tenant_id == tenant.id, StaffUser.role == "owner", StaffUser.removed_at.is_(None))
        .with_for_update()
    )
    if [row for row in owners.scalars() if row != leaving.id] == [] and leaving.role == "owner":
        raise Conflict("a clinic needs at least one owner; make someone else an owner first")


async def change_role(session: AsyncSession, caller: Caller, staff_id: uuid.UUID, role: str) -> StaffUser:
    user = await member(session, caller.tenant, staff_id, lock=True)
    if user.role != role:
        if role != "owner":
            await _keep_an_owner(session, caller.tenant, user)
        audit.record(
            session, caller, "staff.role_changed", "staff_user", user.id, {"from": user.role, "to": role}
        )
        user.role = role
    return user


async def remove(session: AsyncSession, caller: Caller, staff_id: uuid.UUID, now: datetime) -> StaffUser:
    """They can no longer sign in; their sessions end now. Their audit trail stays."""
    user = await member(session, caller.tenant, staff_id, lock=True)
    await _keep_an_owner(session, caller.tenant, user)
    user.removed_at = now
    await end_sessions(session, user.id, now)
    audit.record(session, caller, "staff.removed", "staff_user", user.id)
    return user


async def end_sessions(session: AsyncSession, staff_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
