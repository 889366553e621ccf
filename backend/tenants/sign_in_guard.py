"""How many wrong passwords an account takes, and from where, before sign-ins must wait.

Failures are counted per e-mail address *and* client address: five wrong passwords from one
address make that address wait out the lockout for that account, and nobody else. Someone trying
to keep an owner locked out locks only themselves out; the owner signs in from their own address.
Against guessing from many addresses at once, failures are also counted per e-mail address over
all addresses: past STAFF_ACCOUNT_LOCKOUT_FAILURES, addresses the account has never signed in from
must wait too, while the ones it has signed in from still pass with the right password (and a
password reset clears everything).

Everything is keyed by the e-mail address typed, whether or not an account has it, so an unknown
address is counted, locked and answered exactly like a real one: the answers tell nobody which
addresses have accounts. The address is stored as its SHA-256 only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.errors import AppError
from backend.core.settings import Settings
from backend.tenants.models import SignInAttempts

EVERY_ADDRESS = "*"
MAX_ADDRESS_CHARS = 64


class TooManyFailures(AppError):
    status = 429
    code = "TOO_MANY_FAILED_SIGN_INS"
    retryable = True


@dataclass(frozen=True)
class Attempt:
    email_key: str
    address: str


def attempt(email: str, address: str) -> Attempt:
    key = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return Attempt(key, address[:MAX_ADDRESS_CHARS] or "unknown")


async def check(session: AsyncSession, at: Attempt, now: datetime) -> None:
    """TooManyFailures if this address must wait before trying this e-mail address again."""
    rows = {
        row.address: row
        for row in await session.scalars(
            select(SignInAttempts).where(
                SignInAttempts.email_key == at.email_key,
                SignInAttempts.address.in_((at.address, EVERY_ADDRESS)),
            )
        )
    }
    here, everywhere = rows.get(at.address), rows.get(EVERY_ADDRESS)
    known_here = here is not None and here.signed_in_at is not None
    until = [row.locked_until for row in (here,) if row and row.locked_until and row.locked_until > now]
    if everywhere and everywhere.locked_until and everywhere.locked_until > now and not known_here:
        until.append(everywhere.locked_until)
    if until:
        minutes = max(1, int((max(until) - now).total_seconds() // 60) + 1)
        raise TooManyFailures(
            f"too many failed sign-ins for this account from here; try again in {minutes} minutes,"
            " or reset the password",
            headers={"Retry-After": str(minutes * 60)},
        )


async def failed(session: AsyncSession, settings: Settings, at: Attempt, now: datetime) -> None:
    """Count a wrong password (or an unknown e-mail address) here and over all addresses."""
    window = timedelta(minutes=settings.staff_lockout_minutes)
    limits = {
        at.address: settings.staff_lockout_failures,
        EVERY_ADDRESS: settings.staff_account_lockout_failures,
    }
    for address, limit in limits.items():
        await session.execute(
            insert(SignInAttempts)
            .values(email_key=at.email_key, address=address, failures=0, window_started_at=now)
            .on_conflict_do_nothing()
        )
        row = await session.scalar(
            select(SignInAttempts)
            .where(SignInAttempts.email_key == at.email_key, SignInAttempts.address == address)
            .with_for_update()
        )
        assert row is not None
        if row.window_started_at <= now - window:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        if row.failures >= limit:
            row.locked_until, row.failures, row.window_started_at = now + window, 0, now


async def succeeded(session: AsyncSession, at: Attempt, now: datetime) -> None:
    """The right password: this address is known to the account from now on; the counts start over."""
    await session.execute(
        insert(SignInAttempts)
        .values(
            email_key=at.email_key, address=at.address, failures=0, window_started_at=now, signed_in_at=now
        )
        .on_conflict_do_update(
            index_elements=[SignInAttempts.email_key, SignInAttempts.address],
            set_={"failures": 0, "locked_until": None, "window_started_at": now, "signed_in_at": now},
        )
    )
    await session.execute(
        delete(SignInAttempts).where(
            SignInAttempts.email_key == at.email_key, SignInAttempts.address == EVERY_ADDRESS
        )
    )


async def forget(session: AsyncSession, email: str) -> None:
    """A new password (a reset, an invitation accepted): every lockout of the account ends."""
    key = attempt(email, "").email_key
    await session.execute(
        delete(SignInAttempts).where(SignInAttempts.email_key == key, SignInAttempts.signed_in_at.is_(None))
    )
    await session.execute(
        SignInAttempts.__table__.update()
        .where(SignInAttempts.email_key == key)
        .values(failures=0, locked_until=None)
    )


async def purge(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Forget counts that no longer lock anything and addresses that never signed in."""
    stale = now - timedelta(minutes=settings.staff_lockout_minutes)
    result = await session.execute(
        delete(SignInAttempts).where(
            SignInAttempts.signed_in_at.is_(None),
            SignInAttempts.window_started_at < stale,
            (SignInAttempts.locked_until.is_(None)) | (SignInAttempts.locked_until < now),
        )
    )
    return result.rowcount or 0
