"""Flagged conversations in the API a clinic's software (and the workspace) reads: the `triage`
field and filters, acknowledging an alert, and the on-call number setting."""

from __future__ import annotations

import uuid

from tests.conftest import at, local_day
from tests.support.chat import open_chat
from tests.support.db import rows
from tests.support.workspace import new_clinic

EMERGENCY = "I think I'm having a stroke, my face is drooping"


async def flagged_chat(db, tenant_id: str, text: str = EMERGENCY):
    chat = await open_chat(db, tenant_id, at(local_day(3), "08:00"))
    await chat.say(text)
    return chat


async def listed(http, headers=None, **params) -> dict:
    response = await http.get("/api/v1/conversations", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


async def test_flagged_conversations_carry_their_triage_and_can_be_listed_apart(client, db, tenant):
    emergency = await flagged_chat(db, tenant.id)
    urgent = await flagged_chat(db, tenant.id, "my son got his tooth knocked out at football")
    ordinary = await flagged_chat(db, tenant.id, "what are your opening hours?")

    everything = await listed(client, tenant.auth)
    by_id = {c["id"]: c for c in everything["items"]}
    assert by_id[str(ordinary.conversation_id)]["triage"] is None
    flag = by_id[str(emergency.conversation_id)]["triage"]
    assert (flag["band"], flag["category"], flag["acknowledged_at"]) == ("emergency", "stroke", None)
    assert by_id[str(urgent.conversation_id)]["triage"]["band"] == "urgent"
    assert everything["alerts"] == 2

    only = await listed(client, tenant.auth, triage="emergency")
    assert [c["id"] for c in only["items"]] == [str(emergency.conversation_id)]
    both = await listed(client, tenant.auth, triage="any", acknowledged="false")
    assert {c["id"] for c in both["items"]} == {str(emergency.conversation_id), str(urgent.conversation_id)}
    bad = await client.get("/api/v1/conversations", params={"triage": "worried"}, headers=tenant.auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_acknowledging_an_alert_takes_it_off_the_top_and_is_audited(client, db, tenant, make_tenant):
    chat = await flagged_chat(db, tenant.id)
    path = f"/api/v1/conversations/{chat.conversation_id}/acknowledge"
    seen = await client.post(path, headers=tenant.auth)
    assert seen.status_code == 200, seen.text
    assert seen.json()["triage"]["acknowledged_at"] is not None
    assert seen.json()["triage"]["band"] == "emergency"  # the flag stays
    assert (await listed(client, tenant.auth, triage="any", acknowledged="false"))["items"] == []
    assert (await listed(client, tenant.auth))["alerts"] == 0
    assert (await client.post(path, headers=tenant.auth)).status_code == 200  # again: nothing new
    audited = await rows(
        db,
        "SELECT entity_id FROM audit_log WHERE tenant_id = :t AND action = 'conversation.alert_acknowledged'",
        t=tenant.id,
    )
    assert audited == [{"entity_id": str(chat.conversation_id)}]

    ordinary = await flagged_chat(db, tenant.id, "what are your opening hours?")
    nothing = await client.post(
        f"/api/v1/conversations/{ordinary.conversation_id}/acknowledge", headers=tenant.auth
    )
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "CONFLICT"
    other = await make_tenant()
    foreign = await client.post(path, headers=other.auth)
    assert foreign.status_code == 404
    missing = await client.post(f"/api/v1/conversations/{uuid.uuid4()}/acknowledge", headers=tenant.auth)
    assert missing.status_code == 404


async def test_taking_a_flagged_conversation_over_acknowledges_its_alert(client, db):
    owner = await new_clinic(client)
    chat = await flagged_chat(db, owner.tenant_id)
    taken = await owner.http.post(
        f"/api/v1/conversations/{chat.conversation_id}/takeover", headers=owner.headers()
    )
    assert taken.status_code == 200, taken.text
    flag = taken.json()["triage"]
    assert flag["acknowledged_at"] is not None and flag["acknowledged_by"] is not None


async def test_the_on_call_number_is_a_validated_setting(client, tenant):
    bad = await client.patch(
        "/api/v1/tenant/settings", json={"settings": {"on_call_phone": "617-555-0100"}}, headers=tenant.auth
    )
    assert bad.status_code == 422
    [problem] = bad.json()["error"]["details"]["errors"]
    assert problem["field"].endswith("on_call_phone") and "E.164" in problem["message"]
    good = await client.patch(
        "/api/v1/tenant/settings", json={"settings": {"on_call_phone": "+16175550100"}}, headers=tenant.auth
    )
    assert good.status_code == 200 and good.json()["settings"]["on_call_phone"] == "+16175550100"


async def test_the_alert_api_is_documented(client):
    document = (await client.get("/openapi.json")).json()
    listing = document["paths"]["/api/v1/conversations"]["get"]
    assert {"triage", "acknowledged"} <= {p["name"] for p in listing["parameters"]}
    acknowledge = document["paths"]["/api/v1/conversations/{conversation_id}/acknowledge"]["post"]
    assert {"404", "409"} <= set(acknowledge["responses"])
    schemas = document["components"]["schemas"]
    assert "triage" in schemas["ConversationOut"]["properties"]
    assert set(schemas["TriageFlag"]["properties"]) == {
        "band",
        "category",
        "at",
        "acknowledged_at",
        "acknowledged_by",
    }
    assert "on_call_phone" in schemas["TenantSettings"]["properties"]
    assert {"conversation.emergency", "conversation.urgent"} <= set(document["webhooks"])
