"""A member's own two-factor sign-in: set it up (a secret and its QR code, then a first code),
replace the recovery codes, turn it off. With a workspace session only: a second factor belongs to
a person, not to an API key. Open to a member who must still set it up (nothing else is)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller
from backend.core.deps import AppSettings, Db, Now
from backend.core.schemas import Input, Output, error_responses
from backend.tenants import staff, two_factor
from backend.tenants.deps import EnrollingCaller
from backend.tenants.models import StaffUser

router = APIRouter(
    prefix="/api/v1/account/two-factor", tags=["account"], responses=error_responses(401, 403, 422)
)

CodeText = Annotated[
    str, Field(min_length=6, max_length=40, description="A code from the app, or a recovery code")
]


class TwoFactorOut(Output):
    enabled: bool
    required: bool = Field(description="Whether the clinic requires it of this member")
    recovery_codes_left: int


class EnrolmentOut(Output):
    secret: str = Field(description="For typing into the app by hand (base32)")
    otpauth_uri: str
    qr_svg: str = Field(description="The otpauth URI as a QR code: an SVG image as a data: URI")


class CodeIn(Input):
    code: CodeText


class RecoveryCodesOut(Output):
    recovery_codes: list[str] = Field(description="Each works once. Shown this once: only hashes are kept.")


async def _me(session: AsyncSession, caller: Caller) -> StaffUser:
    assert caller.staff_id is not None  # EnrollingCaller is always a signed-in member
    return await staff.member(session, caller.tenant, caller.staff_id, lock=True)


@router.get("", response_model=TwoFactorOut)
async def status(caller: EnrollingCaller, db: Db) -> TwoFactorOut:
    async def work(session: AsyncSession) -> TwoFactorOut:
        user = await _me(session, caller)
        return TwoFactorOut(
            enabled=two_factor.enabled(user),
            required=two_factor.required_for(user, caller.tenant.settings),
            recovery_codes_left=await two_factor.recovery_codes_left(session, user),
        )

    return await db.transaction(work)


@router.post("", response_model=EnrolmentOut, responses=error_responses(409))
async def begin(caller: EnrollingCaller, db: Db, settings: AppSettings) -> EnrolmentOut:
    """A new secret for the authenticator app (scan the QR code); `confirm` turns it on."""

    async def work(session: AsyncSession) -> EnrolmentOut:
        enrolment = await two_factor.begin(session, settings, caller, await _me(session, caller))
        return EnrolmentOut(
            secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg
        )

    return await db.transaction(work)


@router.post("/confirm", response_model=RecoveryCodesOut, responses=error_responses(409))
async def confirm(
    body: CodeIn, caller: EnrollingCaller, db: Db, settings: AppSettings, now: Now
) -> RecoveryCodesOut:
    """The first code from the app: two-factor sign-in is on, and here are the recovery codes."""

    async def work(session: AsyncSession) -> RecoveryCodesOut:
        user = await _me(session, caller)
        return RecoveryCodesOut(
            recovery_codes=await two_factor.confirm(session, settings, caller, user, body.code, now)
        )

    return await db.transaction(work)


@router.post("/recovery-codes", response_model=RecoveryCodesOut, responses=error_responses(409))
async def replace_recovery_codes(
    body: CodeIn, caller: EnrollingCaller, db: Db, settings: AppSettings, now: Now
) -> RecoveryCodesOut:
    """New recovery codes for a current code; the old ones stop working."""

    async def work(session: AsyncSession) -> RecoveryCodesOut:
        user = await _me(session, caller)
        codes = await two_factor.new_recovery_codes(session, settings, caller, user, body.code, now)
        return RecoveryCodesOut(recovery_codes=codes)

    return await db.transaction(work)


@router.post("/disable", response_model=TwoFactorOut, responses=error_responses(409))
async def disable(
    body: CodeIn, caller: EnrollingCaller, db: Db, settings: AppSettings, now: Now
) -> TwoFactorOut:
    """Turn it off, with a current code or a recovery code."""

    async def work(session: AsyncSession) -> TwoFactorOut:
        user = await _me(session, caller)
        await two_factor.disable(session, settings, caller, user, body.code, now)
        return TwoFactorOut(
            enabled=False,
            required=two_factor.required_for(user, caller.tenant.settings),
            recovery_codes_left=0,
        )

    return await db.transaction(work)
