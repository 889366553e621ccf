"""Consent to texts and e-mails: recorded with where it came from, readable and changeable through
the API (audited), followed by START and STOP, and respected by what the worker sends."""

from __future__ import annotations

from tests.conftest import at, iso, local_day
from tests.support.db import rows
from tests.support.messaging import new_phone
from tests.support.phone import phone_lines


async def book(client, tenant, phone, **customer):
    response = await client.post(
        "/api/v1/bookings",
        headers=tenant.auth,
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": iso(at(local_day(3), "10:00")),
            "customer": {"name": "Jane Doe", "phone": phone, **customer},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["customer"]["id"]


async def test_consent_is_read_and_changed_through_the_api_and_audited(client, tenant, make_tenant, db):
    customer_id = await book(client, tenant, new_phone())
    shown = await client.get(f"/api/v1/customers/{customer_id}", headers=tenant.auth)
    assert shown.status_code == 200
    consent = shown.json()["consent"]
    assert consent["sms"]["granted"] is True and consent["sms"]["source"] == "api" and consent["sms"]["at"]

    changed = await client.patch(
        f"/api/v1/customers/{customer_id}/consent", headers=tenant.auth, json={"sms": False}
    )
    assert changed.status_code == 200
    assert changed.json()["consent"]["sms"] == {
        **changed.json()["consent"]["sms"],
        "granted": False,
        "source": "api",
    }
    assert changed.json()["consent"]["email"]["granted"] is True
    [audit] = await rows(
        db,
        "SELECT actor, details FROM audit_log WHERE tenant_id = :t AND action = 'customer.consent_changed'",
        t=tenant.id,
    )
    assert audit["actor"].startswith("key:") and audit["details"] == {
        "channel": "sms",
        "granted": False,
        "source": "api",
    }

    other = await make_tenant()
    assert (await client.get(f"/api/v1/customers/{customer_id}", headers=other.auth)).status_code == 404
    hidden = await client.patch(
        f"/api/v1/customers/{customer_id}/consent", headers=other.auth, json={"sms": True}
    )
    assert hidden.status_code == 404
    empty = await client.patch(f"/api/v1/customers/{customer_id}/consent", headers=tenant.auth, json={})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "VALIDATION_ERROR"
    missing = await client.get("/api/v1/customers/not-an-id", headers=tenant.auth)
    assert missing.status_code == 422


async def test_a_returning_patient_keeps_their_consent_unless_the_request_says_otherwise(client, tenant, db):
    phone = new_phone()
    customer_id = await book(client, tenant, phone, sms_consent=False)
    again = await client.post(
        "/api/v1/bookings",
        headers=tenant.auth,
        json={
            "service_id": tenant.services["Check-up"],
            "starts_at": iso(at(local_day(4), "10:00")),
            "customer": {"name": "Jane Doe", "phone": phone},
        },
    )
    assert again.status_code == 201 and again.json()["customer"]["id"] == customer_id
    consent = (await client.get(f"/api/v1/customers/{customer_id}", headers=tenant.auth)).json()["consent"]
    assert consent["sms"]["granted"] is False  # not said this time: kept as it was


async def test_stop_and_start_withdraw_and_give_consent_to_texts(client, tenant, db, settings):
    phone = new_phone()
    customer_id = await book(client, tenant, phone)
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        await phones.say(phone, practice, "STOP")
        stopped = (await client.get(f"/api/v1/customers/{customer_id}", headers=tenant.auth)).json()
        assert (stopped["consent"]["sms"]["granted"], stopped["consent"]["sms"]["source"]) == (
            False,
            "keyword",
        )
        await phones.say(phone, practice, "START")
        started = (await client.get(f"/api/v1/customers/{customer_id}", headers=tenant.auth)).json()
        assert (started["consent"]["sms"]["granted"], started["consent"]["sms"]["source"]) == (
            True,
            "keyword",
        )
