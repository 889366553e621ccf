"""Webhooks Twilio calls. Every request must carry a valid X-Twilio-Signature."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.request_validator import RequestValidator

from backend.api.deps import Db, Now
from backend.errors import Forbidden, ValidationFailed
from backend.services import audit, outbox
from backend.settings import Settings

router = APIRouter(tags=["twilio"])


async def signed_form(request: Request, db: Db) -> dict[str, str]:
    """The form Twilio posted, once its signature checks out against our public URL."""
    settings: Settings = request.app.state.settings
    form = {key: str(value) for key, value in (await request.form()).items()}
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.twilio_auth_token
    if token is None or not RequestValidator(token.get_secret_value()).validate(url, form, signature):

        async def note(session: AsyncSession) -> None:
            audit.record_unattributed(
                session,
                "twilio-webhook",
                "webhook.signature_rejected",
                "webhook",
                {"path": request.url.path, "signed": bool(signature), "configured": token is not None},
            )

        await db.transaction(note)
        raise Forbidden("the request is not signed by Twilio for this server")
    return form


@router.post("/twilio/sms/status", status_code=204)
async def sms_status(request: Request, db: Db, now: Now) -> Response:
    """Delivery receipts. Repeats and late, out-of-order receipts are accepted and change nothing."""
    form = await signed_form(request, db)
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        raise ValidationFailed("MessageSid" if not sid else "MessageStatus", "required")

    async def work(session: AsyncSession) -> None:
        await outbox.record_delivery(session, "twilio", sid, status, form.get("ErrorCode") or None, now)

    await db.transaction(work)
    return Response(status_code=204)
