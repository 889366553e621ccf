"""Twilio's delivery receipts, signed with the official validator, through the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from twilio.request_validator import RequestValidator

from backend.app import create_app
from backend.messaging import outbox_claims
from tests.conftest import at, local_day, utcnow
from tests.fakes.twilio_server import AUTH_TOKEN, SentSms, running_fake_twilio
from tests.support.db import rows, scalar
from tests.support.messaging import (
    book_at,
    daytime,
    dispatcher_for,
    new_phone,
    outbox_of,
    provider_settings,
    queue,
)

PUBLIC = "https://frontdesk.example.com"
PATH = "/twilio/sms/status"


@asynccontextmanager
async def one_text_sent(db, tenant, settings) -> AsyncIterator[tuple[SentSms, httpx.AsyncClient]]:
    """A text sent through the local Twilio server, and the app as Twilio reaches it behind a proxy."""
    phone = new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, public_base_url=PUBLIC)
        async with dispatcher_for(db, config) as dispatcher:
            await queue(db, tenant.id, daytime(), phone)
            await dispatcher.drain(daytime())
        [sms] = twilio.to(phone)
        app = create_app(config)
        # The app sees its internal address; signatures are over the public one.
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000"
        ) as web:
            yield sms, web
        await app.state.db.dispose()
        await app.state.redis.aclose()


def signed(params: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(PUBLIC + PATH, params)}


async def test_delivery_receipts_update_status_in_order_and_forgeries_are_refused(db, tenant, settings):
    async with one_text_sent(db, tenant, settings) as (sms, web):
        assert sms.status_callback.startswith(PUBLIC + PATH + "?outbox=")

        async def receipt(status: str, token: str = AUTH_TOKEN) -> httpx.Response:
            params = {"MessageSid": sms.sid, "MessageStatus": status, "AccountSid": "AC1"}
            return await web.post(PATH, data=params, headers=signed(params, token))

        assert (await receipt("sent")).status_code == 204
        assert (await receipt("delivered")).status_code == 204
        assert (await receipt("delivered")).status_code == 204  # a retried callback
        assert (await receipt("sent")).status_code == 204  # late and out of order
        [row] = await outbox_of(db, tenant.id, recipient=sms.to)
        assert (row["status"], row["delivery_status"]) == ("sent", "delivered")

        forged = await receipt("failed", token="not-the-token")
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "FORBIDDEN"
        unsigned = await web.post(PATH, data={"MessageSid": sms.sid, "MessageStatus": "failed"})
        assert unsigned.status_code == 403
        [row] = await outbox_of(db, tenant.id, recipient=sms.to)
        assert row["delivery_status"] == "delivered"
        rejected = await rows(
            db,
            "SELECT details FROM audit_log WHERE action = 'webhook.signature_rejected' "
            "ORDER BY id DESC LIMIT 2",
        )
        assert [r["details"]["signed"] for r in rejected] == [False, True]

        missing = {"MessageSid": sms.sid}
        assert (await web.post(PATH, data=missing, headers=signed(missing))).status_code == 422

    events = await rows(
        db,
        "SELECT type FROM domain_events WHERE tenant_id = :t AND entity_id = :id ORDER BY id",
        t=tenant.id,
        id=str(row["id"]),
    )
    assert [e["type"] for e in events] == [
        "message.queued",
        "message.sent",
        "message.delivered",
    ]


async def test_an_undelivered_receipt_for_an_unsubscribed_number_records_the_opt_out(db, tenant, settings):
    async with one_text_sent(db, tenant, settings) as (sms, web):
        # The patient is on file, with SMS consent, from an earlier booking.
        await book_at(
            db, tenant.id, tenant.services["Check-up"], at(local_day(5), "11:00"), utcnow(), phone=sms.to
        )
        params = {"MessageSid": sms.sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}
        assert (await web.post(PATH, data=params, headers=signed(params))).status_code == 204
    opted = await scalar(
        db, "SELECT source FROM sms_opt_outs WHERE tenant_id = :t AND phone = :p", t=tenant.id, p=sms.to
    )
    assert opted == "carrier"
    [customer] = await rows(
        db, "SELECT id, sms_consent, sms_consent_source FROM customers WHERE phone = :p", p=sms.to
    )
    assert (customer["sms_consent"], customer["sms_consent_source"]) == (False, "carrier")
    withdrawn = await rows(
        db,
        "SELECT data FROM domain_events WHERE tenant_id = :t AND type = 'customer.opted_out' "
        "AND entity_id = :c",
        t=tenant.id,
        c=str(customer["id"]),
    )
    assert [w["data"]["source"] for w in withdrawn] == ["carrier"]
    [row] = await outbox_of(db, tenant.id, recipient=sms.to, kind="reminder")
    assert row["status"] == "permanently_failed" and "21610" in row["error"]


async def test_a_failed_delivery_shows_in_the_messages_status_and_error(db, tenant, settings):
    async with one_text_sent(db, tenant, settings) as (sms, web):
        params = {"MessageSid": sms.sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
        assert (await web.post(PATH, data=params, headers=signed(params))).status_code == 204
        [row] = await outbox_of(db, tenant.id, recipient=sms.to)
        assert (row["status"], row["delivery_status"]) == ("permanently_failed", "undelivered")
        assert row["error"] == "the carrier reported it undelivered (Twilio error 30003)"
        assert row["error_code"] == "30003"
    assert await scalar(db, "SELECT count(*) FROM sms_opt_outs WHERE phone = :p", p=sms.to) == 0


async def test_a_receipt_settles_a_text_whose_worker_died_before_recording_it(db, tenant, settings):
    now = daytime()
    phone = new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, public_base_url=PUBLIC, outbox_lease_seconds=60)
        async with dispatcher_for(db, config) as dispatcher:
            await queue(db, tenant.id, now, phone)
            # A worker claims the text, hands it to Twilio and dies before recording the answer.
            claims = await db.transaction(
                lambda session: outbox_claims.claim(session, config, {"sms": "twilio"}, now, 1)
            )
            [claimed] = claims.claimed
            await dispatcher.senders["sms"].send(claimed.envelope)
            [sms] = twilio.to(phone)
            url = sms.status_callback
            assert url == f"{PUBLIC}{PATH}?outbox={claimed.id}"
            app = create_app(config)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000"
            ) as web:
                params = {"MessageSid": sms.sid, "MessageStatus": "sent", "AccountSid": "AC1"}
                signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
                answer = await web.post(
                    url.removeprefix(PUBLIC), data=params, headers={"X-Twilio-Signature": signature}
                )
                assert answer.status_code == 204
                forged = f"{PATH}?outbox=not-an-id"
                params_forged = {"MessageSid": "SMx", "MessageStatus": "sent"}
                bad = await web.post(
                    forged,
                    data=params_forged,
                    headers={
                        "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                            PUBLIC + forged, params_forged
                        )
                    },
                )
                assert bad.status_code == 422
                assert bad.json()["error"]["details"]["errors"][0]["field"] == "outbox"
            await app.state.db.dispose()
            await app.state.redis.aclose()
            [row] = await outbox_of(db, tenant.id, recipient=phone)
            assert (row["status"], row["provider_message_id"], row["delivery_status"]) == (
                "sent",
                sms.sid,
                "sent",
            )
            await dispatcher.drain(now + timedelta(seconds=61))  # the lease has passed: nothing to do
    assert len(twilio.to(phone)) == 1 and twilio.lookups == []
