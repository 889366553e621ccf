"""The clinic's team: who can sign in to the workspace, and as what (owners only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.commands import run_command
from backend.core.deps import Db, Now
from backend.core.schemas import error_responses
from backend.tenants import staff, two_factor
from backend.tenants.deps import OwnerCaller
from backend.tenants.models import StaffUser
from backend.tenants.schemas import StaffInvite, StaffOut, StaffPatch

router = APIRouter(prefix="/api/v1/team", tags=["team"], responses=error_responses(401, 403))


def staff_out(user: StaffUser) -> StaffOut:
    return StaffOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,  # type: ignore[arg-type]
        invited=user.password_hash is None,
        two_factor=two_factor.enabled(user),
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


@router.get("", response_model=list[StaffOut])
async def list_team(caller: OwnerCaller, db: Db) -> list[StaffOut]:
    return [staff_out(u) for u in await db.transaction(lambda session: staff.team(session, caller.tenant))]


@router.post("", status_code=201, response_model=StaffOut, responses=error_responses(409, 422))
async def invite(body: StaffInvite, caller: OwnerCaller, request: Request, now: Now) -> JSONResponse:
    """Invite someone by e-mail; they choose their password from the link (valid 7 days, once)."""

    async def work(session: AsyncSession) -> StaffOut:
        user, _ = await staff.invite(
            session, caller, request.app.state.settings, body.email, body.name, body.role, now
        )
        return staff_out(user)

    return await run_command(request, str(caller.tenant.id), work, status_code=201)


@router.patch("/{staff_id}", response_model=StaffOut, responses=error_responses(404, 409, 422))
async def change_role(staff_id: uuid.UUID, body: StaffPatch, caller: OwnerCaller, db: Db) -> StaffOut:
    """Make someone an owner or staff; the last owner stays an owner."""
    return staff_out(
        await db.transaction(lambda session: staff.change_role(session, caller, staff_id, body.role))
    )


@router.delete("/{staff_id}", status_code=204, responses=error_responses(404, 409))
async def remove(staff_id: uuid.UUID, caller: OwnerCaller, db: Db, now: Now) -> Response:
    """They can no longer sign in, and their open sessions end now."""
    await db.transaction(lambda session: staff.remove(session, caller, staff_id, now))
    return Response(status_code=204)


@router.delete("/{staff_id}/two-factor", response_model=StaffOut, responses=error_responses(404))
async def reset_two_factor(staff_id: uuid.UUID, caller: OwnerCaller, db: Db) -> StaffOut:
    """Turn off a member's two-factor sign-in (they lost their phone and their recovery codes);
    where the clinic requires it, they set it up again at their next sign-in."""

    async def work(session: AsyncSession) -> StaffOut:
        user = await staff.member(session, caller.tenant, staff_id, lock=True)
        await two_factor.turn_off(session, caller, user)
        return staff_out(user)

    return await db.transaction(work)
