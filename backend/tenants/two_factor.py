"""Two-factor sign-in: after the password, a TOTP code (RFC 6238, from `pyotp`) from the person's
authenticator app, or one of their single-use recovery codes.

The TOTP secret is sealed with the key ring under `staff_totp:<id>` (like calendar secrets), and
a code is accepted for the current 30-second step or the one either side of it (clocks drift),
once: the step of the last code accepted is kept, so a code seen over someone's shoulder cannot
be used again. Recovery codes are random, shown once, kept as SHA-256 hashes (they are long and
random, so a slow hash buys nothing) and spent by one conditional UPDATE. The QR code for the
authenticator app is drawn here by `segno` as an SVG: the secret never leaves the server for an
image service.

Wrong codes at sign-in count toward the same lockout as wrong passwords (`sign_in_guard`); the
sign-in is only complete (and the address known to the account) once the second factor is given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller
from backend.core.crypto import KeyRing
from backend.core.errors import Conflict, ValidationFailed
from backend.core.schemas import TenantSettings
from backend.core.settings import Settings
from backend.tenants.models import StaffRecoveryCode, StaffUser

RECOVERY_CODES = 10
# No 0/o, 1/l/i: a code is copied from paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_GROUP = 5
# A code from the step before or after the server's is still taken (phone clocks drift).
_DRIFT_STEPS = (0, -1, 1)


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str  # a data: URI, for an <img>


def _sealed_as(user_id: uuid.UUID) -> str:
    return f"staff_totp:{user_id}"


def _hash(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def _normalised(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def enabled(user: StaffUser) -> bool:
    return user.totp_enabled_at is not None


def required_for(user: StaffUser, rules: TenantSettings) -> bool:
    """Whether the clinic requires a second factor of this member."""
    return rules.two_factor_required == "everyone" or (
        rules.two_factor_required == "owners" and user.role == "owner"
    )


def must_enrol(user: StaffUser, rules: TenantSettings) -> bool:
    """Signed in with a password alone where the clinic requires more: only enrolment is open to them."""
    return required_for(user, rules) and not enabled(user)


async def begin(session: AsyncSession, settings: Settings, caller: Caller, user: StaffUser) -> Enrolment:
    """A new secret for the authenticator app; two-factor is on once `confirm` sees a first code."""
    if enabled(user):
        raise Conflict("two-factor sign-in is already on; turn it off first to move it to another device")
    secret = pyotp.random_base32()
    user.totp_secret = settings.key_ring.seal(secret, _sealed_as(user.id))
    user.totp_last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=f"Frontdesk {caller.tenant.name}")
    return Enrolment(secret, uri, segno.make(uri, error="m").svg_data_uri(scale=5))


async def confirm(
    session: AsyncSession, settings: Settings, caller: Caller, user: StaffUser, code: str, now: datetime
) -> list[str]:
    """Two-factor on, proved by a first code; returns the recovery codes (shown this once)."""
    if enabled(user):
        raise Conflict("two-factor sign-in is already on")
    if user.totp_secret is None:
        raise Conflict("start the set-up first: the app needs its secret before it can show a code")
    if not _totp_accepted(settings, user, code, now):
        raise ValidationFailed("code", "not the code the app shows now; check the phone's clock, try again")
    user.totp_enabled_at = now
    audit.record(session, caller, "staff.two_factor_enabled", "staff_user", user.id)
    return await _replace_recovery_codes(session, user)


async def new_recovery_codes(
    session: AsyncSession, settings: Settings, caller: Caller, user: StaffUser, code: str, now: datetime
) -> list[str]:
    """A fresh set (the old ones stop working), for a person who proves the second factor now."""
    await _require_proof(session, settings, user, code, now)
    audit.record(session, caller, "staff.recovery_codes_replaced", "staff_user", user.id)
    return await _replace_recovery_codes(session, user)


async def disable(
    session: AsyncSession, settings: Settings, caller: Caller, user: StaffUser, code: str, now: datetime
) -> None:
    """Off, by its owner, who proves the second factor once more."""
    await _require_proof(session, settings, user, code, now)
    await turn_off(session, caller, user)


async def turn_off(session: AsyncSession, caller: Caller, user: StaffUser) -> None:
    """Off without a code: an owner resetting a member who lost their phone and their codes."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    await session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == user.id))
    audit.record(session, caller, "staff.two_factor_disabled", "staff_user", user.id)


async def recovery_codes_left(session: AsyncSession, user: StaffUser) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(StaffRecoveryCode)
            .where(StaffRecoveryCode.staff_id == user.id, StaffRecoveryCode.used_at.is_(None))
        )
        or 0
    )


async def verify(
    session: AsyncSession, settings: Settings, user: StaffUser, code: str, now: datetime
) -> str | None:
    """How the second factor was given ("totp" or "recovery_code"), or None if it was not.
    Six digits are read as a TOTP code, anything else as a recovery code (spent if it matches)."""
    if not enabled(user):
        return None
    digits = code.replace(" ", "")
    if digits.isdigit() and len(digits) == 6:
        return "totp" if _totp_accepted(settings, user, digits, now) else None
    spent = await session.scalar(
        update(StaffRecoveryCode)
        .where(
            StaffRecoveryCode.staff_id == user.id,
            StaffRecoveryCode.code_hash == _hash(code),
            StaffRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(StaffRecoveryCode.id)
    )
    return "recovery_code" if spent is not None else None


async def _require_proof(
    session: AsyncSession, settings: Settings, user: StaffUser, code: str, now: datetime
) -> None:
    if not enabled(user):
        raise Conflict("two-factor sign-in is not on for this account")
    if await verify(session, settings, user, code, now) is None:
        raise ValidationFailed("code", "not a current code from the app, nor an unused recovery code")


def _totp_accepted(settings: Settings, user: StaffUser, code: str, now: datetime) -> bool:
    """The code of a step near now that is later than the last one accepted; remembers its step."""
    assert user.totp_secret is not None
    totp = pyotp.TOTP(settings.key_ring.open(user.totp_secret, _sealed_as(user.id)))
    given = code.replace(" ", "").encode()
    current = totp.timecode(now)
    for offset in _DRIFT_STEPS:
        step = current + offset
        if hmac.compare_digest(totp.generate_otp(step).encode(), given):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False  # already used: a code works once
            user.totp_last_step = step
            return True
    return False


async def _replace_recovery_codes(session: AsyncSession, user: StaffUser) -> list[str]:
    await session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(2 * _RECOVERY_GROUP))
        codes.append(f"{raw[:_RECOVERY_GROUP]}-{raw[_RECOVERY_GROUP:]}")
    session.add_all(StaffRecoveryCode(staff_id=user.id, code_hash=_hash(code)) for code in codes)
    await session.flush()
    return codes


async def reseal_all(session: AsyncSession, ring: KeyRing) -> int:
    """`frontdesk rekey`: every TOTP secret sealed again under the ring's current key; how many."""
    changed = 0
    for user in await session.scalars(
        select(StaffUser).where(StaffUser.totp_secret.is_not(None)).with_for_update()
    ):
        assert user.totp_secret is not None
        if not ring.is_current(user.totp_secret):
            user.totp_secret = ring.seal(
                ring.open(user.totp_secret, _sealed_as(user.id)), _sealed_as(user.id)
            )
            changed += 1
    return changed
