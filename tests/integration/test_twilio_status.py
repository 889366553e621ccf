"""Twilio's delivery receipts, signed with the official validator, through the real app."""

from __future__ import annotations

import httpx
from twilio.request_validator import RequestValidator

from backend.api.app import create_app
from tests.fakes.twilio_server import AUTH_TOKEN, running_fake_twilio
from tests.integration.helpers import rows, scalar
from tests.integration.messaging import dispatcher_for, new_phone, outbox_of, provider_settings
from tests.integration.test_outbox import daytime, queue

PUBLIC = "https://frontdesk.example.com"
PATH = "/twilio/sms/status"


def signed(params: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(PUBLIC + PATH, params)}


async def test_delivery_receipts_update_status_in_order_and_forgeries_are_refused(db, tenant, settings):
    now = daytime()
    phone = new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, public_base_url=PUBLIC)
        async with dispatcher_for(db, config) as dispatcher:
            await queue(db, tenant.id, now, phone)
            await dispatcher.drain(now)
        [sms] = twilio.to(phone)
        assert sms.status_callback == PUBLIC + PATH

        app = create_app(config)
        # Twilio calls the public URL; behind the proxy the app sees another host.
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000"
        ) as web:

            async def receipt(status: str, error_code: str = "", token: str = AUTH_TOKEN) -> httpx.Response:
                params = {"MessageSid": sms.sid, "MessageStatus": status, "AccountSid": "AC1"}
                if error_code:
                    params["ErrorCode"] = error_code
                return await web.post(PATH, data=params, headers=signed(params, token))

            assert (await receipt("sent")).status_code == 204
            assert (await receipt("delivered")).status_code == 204
            assert (await receipt("delivered")).status_code == 204  # a retried callback
            assert (await receipt("sent")).status_code == 204  # late and out of order
            [row] = await outbox_of(db, tenant.id, recipient=phone)
            assert (row["status"], row["delivery_status"]) == ("sent", "delivered")

            forged = await receipt("failed", token="not-the-token")
            assert forged.status_code == 403 and forged.json()["error"]["code"] == "FORBIDDEN"
            unsigned = await web.post(PATH, data={"MessageSid": sms.sid, "MessageStatus": "failed"})
            assert unsigned.status_code == 403
            [row] = await outbox_of(db, tenant.id, recipient=phone)
            assert row["delivery_status"] == "delivered"
            rejected = await rows(
                db,
                "SELECT details FROM audit_log WHERE action = 'webhook.signature_rejected' "
                "ORDER BY id DESC LIMIT 2",
            )
            assert [r["details"]["signed"] for r in rejected] == [False, True]

            missing = {"MessageSid": sms.sid}
            invalid = await web.post(PATH, data=missing, headers=signed(missing))
            assert invalid.status_code == 422
        await app.state.db.dispose()
        await app.state.redis.aclose()

    events = await rows(
        db,
        "SELECT type FROM domain_events WHERE tenant_id = :t AND entity_id = :id ORDER BY id",
        t=tenant.id,
        id=str(row["id"]),
    )
    assert [e["type"] for e in events] == [
        "notification.queued",
        "notification.sent",
        "notification.delivered",
    ]


async def test_an_undelivered_receipt_for_an_unsubscribed_number_records_the_opt_out(db, tenant, settings):
    now = daytime()
    phone = new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, public_base_url=PUBLIC)
        async with dispatcher_for(db, config) as dispatcher:
            await queue(db, tenant.id, now, phone)
            await dispatcher.drain(now)
        [sms] = twilio.to(phone)
        app = create_app(config)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://internal"
        ) as web:
            params = {"MessageSid": sms.sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}
            assert (await web.post(PATH, data=params, headers=signed(params))).status_code == 204
        await app.state.db.dispose()
        await app.state.redis.aclose()
    opted = await scalar(
        db, "SELECT source FROM sms_opt_outs WHERE tenant_id = :t AND phone = :p", t=tenant.id, p=phone
    )
    assert opted == "carrier"
