"""Webhooks Twilio calls: inbound texts, calls and their turns, and status callbacks.

Every request must carry a valid X-Twilio-Signature for the public URL it was sent to (rebuilt
from PUBLIC_BASE_URL, so it holds behind a proxy); anything else is refused with 403 and audited.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from backend.core import audit, metrics
from backend.core.crypto import KeyRingError
from backend.core.deps import Db, Now
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.settings import Settings
from backend.messaging import receipts
from backend.telephony import sms_inbox, twilio_accounts
from backend.telephony.voice_calls import PhoneCalls
from channels import inbound

router = APIRouter(tags=["twilio"])

TWIML = "application/xml"
SMS_STATUS_PATH = "/twilio/sms/status"
UNKNOWN_NUMBER_TEXT = "Sorry, this number isn't set up to receive messages. Please check the number."


async def signed_form(request: Request, db: Db) -> dict[str, str]:
    """The form Twilio posted, once its signature checks out against our public URL."""
    settings: Settings = request.app.state.settings
    form = {key: str(value) for key, value in (await request.form()).items()}
    if not settings.twilio_verify_signatures:
        metrics.INBOUND_WEBHOOKS.labels(request.url.path, "unchecked").inc()
        return _contract(form)  # local development only: the settings refuse this in production
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    token = await _token_for(request, db, form)
    if token is None or not RequestValidator(token).validate(url, form, signature):

        async def note(session: AsyncSession) -> None:
            audit.record_unattributed(
                session,
                "twilio-webhook",
                "webhook.signature_rejected",
                "webhook",
                {"path": request.url.path, "signed": bool(signature), "configured": token is not None},
            )

        await db.transaction(note)
        metrics.INBOUND_WEBHOOKS.labels(request.url.path, "refused").inc()
        raise Forbidden("the request is not signed by Twilio for this server")
    metrics.INBOUND_WEBHOOKS.labels(request.url.path, "accepted").inc()
    return _contract(form)


async def _token_for(request: Request, db: Db, form: dict[str, str]) -> str | None:
    """The auth token the request must be signed with: that of the clinic whose number it concerns,
    when the clinic has its own Twilio account; the platform's otherwise."""
    settings: Settings = request.app.state.settings
    # A delivery receipt is about a text we sent from the clinic's number; the rest, about one to it.
    number = form.get("From" if request.url.path == SMS_STATUS_PATH else "To", "")
    try:
        own = await db.transaction(
            lambda session: twilio_accounts.for_number(session, settings.key_ring, number)
        )
    except KeyRingError:
        return None  # the clinic's token does not open: nothing can verify the request, it is refused
    if own is not None:
        return own.secret
    return settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None


def _contract(form: dict[str, str]) -> dict[str, str]:
    """The form under the input contract every transport shares (checked after the signature,
    which covers the form exactly as Twilio sent it)."""
    try:
        return inbound.twilio_form(form)
    except inbound.InvalidInput as invalid:
        raise ValidationFailed(invalid.field, invalid.message) from None


def _twiml(body: str) -> Response:
    return Response(content=body, media_type=TWIML)


def _calls(request: Request) -> PhoneCalls:
    return request.app.state.phone_calls


@router.post("/twilio/sms", response_class=Response)
async def inbound_sms(request: Request, db: Db, now: Now) -> Response:
    """A text to one of the tenants' numbers. Stored at once and answered by the worker through the
    outbox; STOP, START and HELP take effect before this returns. The answer is empty TwiML."""
    form = await signed_form(request, db)
    received = await db.transaction(lambda session: sms_inbox.receive(session, form, now))
    response = MessagingResponse()
    if not received.known_number:
        response.message(UNKNOWN_NUMBER_TEXT)
    return _twiml(str(response))


@router.post(SMS_STATUS_PATH, status_code=204)
async def sms_status(request: Request, db: Db, now: Now) -> Response:
    """Delivery receipts. Repeats and late, out-of-order receipts are accepted and change nothing.
    The URL's `outbox` parameter (we set it when sending) names the message the receipt is about."""
    form = await signed_form(request, db)
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        raise ValidationFailed("MessageSid" if not sid else "MessageStatus", "required")
    outbox_id = _message_id(request.query_params.get("outbox"))

    async def work(session: AsyncSession) -> None:
        error_code = form.get("ErrorCode") or None
        await receipts.record_delivery(session, "twilio", sid, status, error_code, now, outbox_id)

    await db.transaction(work)
    return Response(status_code=204)


def _message_id(raw: str | None) -> uuid.UUID | None:
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed("outbox", "not a message id") from None


@router.post("/twilio/voice", response_class=Response)
async def incoming_call(request: Request, db: Db) -> Response:
    """A call to one of the tenants' numbers: the greeting and the first question."""
    form = await signed_form(request, db)
    return _twiml(await _calls(request).incoming(form))


@router.post("/twilio/voice/turn", response_class=Response)
async def call_turn(
    request: Request, db: Db, step: Annotated[int, Query(ge=1, le=1000, description="The turn's number")]
) -> Response:
    """What the caller said (SpeechResult) or keyed (Digits) at this step, and the answer to it."""
    form = await signed_form(request, db)
    return _twiml(await _calls(request).turn(form, step))


@router.post("/twilio/voice/status", status_code=204)
async def call_status(request: Request, db: Db) -> Response:
    """The call's status callback: a finished call frees its place under the concurrent-call limit."""
    form = await signed_form(request, db)
    await _calls(request).status(form)
    return Response(status_code=204)
