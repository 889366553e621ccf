"""A clinic with its own Twilio account: its numbers' webhooks are verified with its token (never the
platform's), its texts go out through its account, a rotated token counts at once, and the token is
sealed at rest and never shown, logged or audited. Clinics without one keep the platform's account."""

from __future__ import annotations

import json
import secrets

from pydantic import SecretStr

from backend.core.crypto import KeyRing
from backend.telephony import twilio_accounts
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN
from tests.support.db import rows, scalar
from tests.support.messaging import new_phone
from tests.support.phone import new_sid, phone_lines
from tests.support.workspace import new_clinic

OWN_SID = "AC" + secrets.token_hex(16)


def new_token() -> str:
    return secrets.token_hex(16)


def text_to(practice: str, patient: str, body: str = "Hi") -> dict[str, str]:
    return {"MessageSid": new_sid(), "From": patient, "To": practice, "Body": body, "NumMedia": "0"}


async def test_a_clinic_with_its_own_account(db, make_tenant, settings, caplog):
    platform_clinic, own_clinic = await make_tenant(), await make_tenant()
    first_token, rotated_token = new_token(), new_token()
    async with phone_lines(db, settings) as phones:
        platform_number = await phones.add_number(platform_clinic.auth)
        own_number = await phones.add_number(own_clinic.auth)
        phones.twilio.accounts[OWN_SID] = first_token

        put = await phones.web.put(
            "/api/v1/tenant/twilio-account",
            headers=own_clinic.auth,
            json={"account_sid": OWN_SID, "auth_token": first_token},
        )
        assert put.status_code == 200, put.text
        assert put.json()["account_sid"] == OWN_SID and first_token not in put.text
        shown = await phones.web.get("/api/v1/tenant/twilio-account", headers=own_clinic.auth)
        assert shown.json()["account_sid"] == OWN_SID and first_token not in shown.text
        unset = await phones.web.get("/api/v1/tenant/twilio-account", headers=platform_clinic.auth)
        assert unset.status_code == 404

        # Its number: the platform's signature is refused, its own accepted, its reply sent from its account.
        patient = new_phone()
        refused = await phones.post("/twilio/sms", text_to(own_number, patient), token=AUTH_TOKEN)
        assert refused.status_code == 403
        voice = {"CallSid": new_sid("CA"), "From": patient, "To": own_number, "CallStatus": "ringing"}
        assert (await phones.post("/twilio/voice", voice, token=AUTH_TOKEN)).status_code == 403
        accepted = await phones.post("/twilio/sms", text_to(own_number, patient), token=first_token)
        assert accepted.status_code == 200
        await phones.settle()
        [reply] = phones.received(patient)
        assert (reply.account_sid, reply.from_) == (OWN_SID, own_number)

        # Its delivery receipts are signed with its token too (the receipt names its number as From).
        receipt = {"MessageSid": reply.sid, "MessageStatus": "delivered", "From": own_number, "To": patient}
        path = f"/twilio/sms/status?outbox={reply.outbox_id}"
        assert (await phones.post(path, receipt, token=AUTH_TOKEN)).status_code == 403
        assert (await phones.post(path, receipt, token=first_token)).status_code == 204

        # The other clinic keeps the platform's account, and its token does not open the own one's.
        other = new_phone()
        assert (
            await phones.post("/twilio/sms", text_to(platform_number, other), token=first_token)
        ).status_code == 403
        assert (await phones.post("/twilio/sms", text_to(platform_number, other))).status_code == 200
        await phones.settle()
        [platform_reply] = phones.received(other)
        assert platform_reply.account_sid == ACCOUNT_SID

        # Rotation: one call, in effect for the very next webhook and text.
        phones.twilio.accounts[OWN_SID] = rotated_token  # rotated at Twilio: the old token no longer works
        rotated = await phones.web.put(
            "/api/v1/tenant/twilio-account",
            headers=own_clinic.auth,
            json={"account_sid": OWN_SID, "auth_token": rotated_token},
        )
        assert rotated.status_code == 200 and rotated_token not in rotated.text
        stale = await phones.post("/twilio/sms", text_to(own_number, patient, "hours?"), token=first_token)
        assert stale.status_code == 403
        fresh = await phones.post("/twilio/sms", text_to(own_number, patient, "hours?"), token=rotated_token)
        assert fresh.status_code == 200
        await phones.settle()
        assert len(phones.received(patient)) == 2
        assert phones.received(patient)[-1].account_sid == OWN_SID

        # Bad input is a clear 422; back to the platform's account is one call.
        bad = await phones.web.put(
            "/api/v1/tenant/twilio-account",
            headers=own_clinic.auth,
            json={"account_sid": "AC123", "auth_token": "short"},
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
        assert "short" not in bad.text

    sealed = await scalar(
        db, "SELECT auth_token_sealed FROM tenant_twilio_accounts WHERE tenant_id = :t", t=own_clinic.id
    )
    assert rotated_token not in sealed and first_token not in sealed
    assert settings.key_ring.open(sealed, f"tenant_twilio_account:{own_clinic.id}") == rotated_token
    audited = await rows(
        db,
        "SELECT action, details FROM audit_log WHERE tenant_id = :t"
        " AND action LIKE 'twilio_account.%' ORDER BY id",
        t=own_clinic.id,
    )
    assert [row["action"] for row in audited] == ["twilio_account.set", "twilio_account.rotated"]
    assert all(row["details"] == {"account_sid": OWN_SID} for row in audited)
    everything = json.dumps(
        await rows(db, "SELECT details FROM audit_log WHERE tenant_id = :t", t=own_clinic.id)
    )
    assert first_token not in everything and rotated_token not in everything
    assert first_token not in caplog.text and rotated_token not in caplog.text


async def test_going_back_to_the_platform_account(db, tenant, settings):
    token = new_token()
    async with phone_lines(db, settings) as phones:
        number = await phones.add_number(tenant.auth)
        body = {"account_sid": OWN_SID, "auth_token": token}
        assert (
            await phones.web.put("/api/v1/tenant/twilio-account", headers=tenant.auth, json=body)
        ).status_code == 200
        assert (await phones.post("/twilio/sms", text_to(number, new_phone()))).status_code == 403
        removed = await phones.web.delete("/api/v1/tenant/twilio-account", headers=tenant.auth)
        assert removed.status_code == 204
        patient = new_phone()
        assert (await phones.post("/twilio/sms", text_to(number, patient))).status_code == 200
        await phones.settle()
        assert [m.account_sid for m in phones.received(patient)] == [ACCOUNT_SID]
        again = await phones.web.delete("/api/v1/tenant/twilio-account", headers=tenant.auth)
        assert again.status_code == 404


async def test_rekeying_reseals_the_token_and_its_webhooks_verify_with_only_the_new_key(db, tenant, settings):
    token = new_token()
    async with phone_lines(db, settings) as phones:
        number = await phones.add_number(tenant.auth)
        body = {"account_sid": OWN_SID, "auth_token": token}
        assert (
            await phones.web.put("/api/v1/tenant/twilio-account", headers=tenant.auth, json=body)
        ).status_code == 200
    new_key = KeyRing.new_key("k9")
    both = KeyRing.parse(f"{new_key},{settings.secrets_keys.get_secret_value()}")
    assert await db.transaction(lambda session: twilio_accounts.reseal_all(session, both)) >= 1
    sealed = await scalar(
        db, "SELECT auth_token_sealed FROM tenant_twilio_accounts WHERE tenant_id = :t", t=tenant.id
    )
    assert sealed.startswith("k9:")
    receipt = {"MessageSid": new_sid(), "MessageStatus": "delivered", "From": number, "To": new_phone()}
    only_new = settings.model_copy(update={"secrets_keys": SecretStr(new_key)})
    async with phone_lines(db, only_new) as phones:
        assert (await phones.post("/twilio/sms/status", receipt, token=token)).status_code == 204
    # Without the key it is sealed with, the token opens nowhere: its number's webhooks are refused.
    async with phone_lines(db, settings) as phones:
        assert (await phones.post("/twilio/sms/status", receipt, token=token)).status_code == 403
        assert (
            await phones.web.delete("/api/v1/tenant/twilio-account", headers=tenant.auth)
        ).status_code == 204


async def test_the_workspace_shows_the_account_never_the_token(client, db):
    owner = await new_clinic(client)
    token = new_token()
    page = await owner.http.get("/app/settings/connections")
    assert "The platform's account." in page.text
    put = await owner.http.put(
        "/api/v1/tenant/twilio-account",
        headers=owner.headers(),
        json={"account_sid": OWN_SID, "auth_token": token},
    )
    assert put.status_code == 200, put.text
    page = await owner.http.get("/app/settings/connections")
    assert f"the clinic's own account {OWN_SID}" in page.text and token not in page.text
    assert "Rotate the token" in page.text
    [audited] = await rows(
        db,
        "SELECT actor FROM audit_log WHERE tenant_id = :t AND action = 'twilio_account.set'",
        t=owner.tenant_id,
    )
    assert audited["actor"].startswith("staff:")
