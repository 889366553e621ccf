"""The clinic's own Twilio account: set it, rotate its auth token (the same call), or go back to the
platform's account. Owners only; the token goes in and never comes out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.deps import Db
from backend.core.schemas import error_responses
from backend.telephony import twilio_accounts
from backend.telephony.schemas import TwilioAccountIn, TwilioAccountOut
from backend.tenants.deps import OwnerCaller

router = APIRouter(prefix="/api/v1/tenant", tags=["tenant"], responses=error_responses(401, 403))


@router.get("/twilio-account", response_model=TwilioAccountOut, responses=error_responses(404))
async def get_account(caller: OwnerCaller, db: Db) -> TwilioAccountOut:
    """The clinic's own account (its SID); 404 while it uses the platform's."""

    async def work(session: AsyncSession) -> TwilioAccountOut:
        return TwilioAccountOut.model_validate(await twilio_accounts.get(session, caller.tenant.id))

    return await db.transaction(work)


@router.put("/twilio-account", response_model=TwilioAccountOut, responses=error_responses(422))
async def put_account(
    body: TwilioAccountIn, caller: OwnerCaller, db: Db, request: Request
) -> TwilioAccountOut:
    """Use the clinic's own Twilio account, or rotate its auth token: from the next webhook and text
    on, its numbers' webhooks are verified with this token and its texts are sent from this account.
    Repeating the same call changes nothing more."""
    ring = request.app.state.settings.key_ring

    async def work(session: AsyncSession) -> TwilioAccountOut:
        token = body.auth_token.get_secret_value()
        row = await twilio_accounts.put(session, caller, ring, body.account_sid, token)
        return TwilioAccountOut.model_validate(row)

    return await db.transaction(work)


@router.delete("/twilio-account", status_code=204, responses=error_responses(404))
async def remove_account(caller: OwnerCaller, db: Db) -> Response:
    """Go back to the platform's Twilio account."""

    async def work(session: AsyncSession) -> None:
        await twilio_accounts.remove(session, caller)

    await db.transaction(work)
    return Response(status_code=204)
