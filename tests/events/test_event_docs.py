"""What an integrator reads before writing a line: every event type and the Event API in OpenAPI."""

from __future__ import annotations

from backend.core.event_catalogue import CATALOGUE


async def openapi(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


async def test_every_event_type_is_a_documented_webhook_with_its_headers_and_data(client):
    document = await openapi(client)
    hooks = document["webhooks"]
    assert set(hooks) == set(CATALOGUE) | {"webhook.ping"}
    for event_type, cls in CATALOGUE.items():
        operation = hooks[event_type]["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        body = resolve(document, operation["requestBody"]["content"]["application/json"]["schema"])
        assert body["properties"]["type"]["const"] == event_type
        data = resolve(document, body["properties"]["data"])
        assert set(data["properties"]) == set(cls.model_fields)
        assert f"version {cls.version}" in operation["description"]


async def test_the_event_api_documents_its_page_its_filters_and_an_expired_cursor(client):
    document = await openapi(client)
    read = document["paths"]["/api/v1/events"]["get"]
    assert {p["name"] for p in read["parameters"]} >= {"after", "types", "limit", "wait"}
    page = resolve(document, read["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(page["properties"]) == {"data", "next_cursor", "has_more"}
    assert "CURSOR_EXPIRED" in read["responses"]["410"]["description"]
    listed = document["paths"]["/api/v1/webhook-endpoints/{endpoint_id}/replay"]["post"]
    assert {"404", "409", "422"} <= set(listed["responses"])


async def test_the_catalogue_is_served_with_each_types_schema(client, tenant):
    response = await client.get("/api/v1/events/types", headers=tenant.auth)
    assert response.status_code == 200
    served = {t["type"]: t for t in response.json()}
    assert set(served) == set(CATALOGUE)
    assert "appointment_id" in served["booking.created"]["data_schema"]["properties"]


async def test_every_reference_in_the_document_resolves(client):
    """A dangling `$ref` stops ReDoc from drawing the reference at all."""
    document = await openapi(client)
    schemas = document["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    dangling = {ref for ref in refs(document) if ref.rsplit("/", 1)[-1] not in schemas}
    assert dangling == set()
