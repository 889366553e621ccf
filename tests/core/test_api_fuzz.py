"""Schemathesis over every operation of the API (issue 25): a few generated requests each, valid and
invalid, the same every run (a fixed seed); no answer is a server error and every answer matches
the OpenAPI document. bench/schemathesis_run.py runs many more against a `frontdesk serve` process."""

from __future__ import annotations

from tests.conftest import ADMIN_SECRET
from tests.support.api_fuzz import Credentials, run

EXAMPLES_PER_OPERATION = 3
SEED = 25
ORIGIN = "https://fuzz.example"


async def test_no_generated_request_gets_a_server_error_or_an_answer_off_the_schema(client, make_tenant):
    tenant = await make_tenant()
    widget_key = (
        await client.post(
            "/api/v1/api-keys", json={"kind": "publishable", "allowed_origins": [ORIGIN]}, headers=tenant.auth
        )
    ).json()["key"]
    session = await client.post(
        "/api/v1/chat/sessions", headers={"X-Widget-Key": widget_key, "Origin": ORIGIN}, json={}
    )
    credentials = Credentials(tenant.key, ADMIN_SECRET, widget_key, ORIGIN, session.json()["token"])
    schema = (await client.get("/openapi.json")).json()

    tally = await run(client.request, schema, credentials, per_operation=EXAMPLES_PER_OPERATION, seed=SEED)

    print(tally.summary())
    assert tally.operations == len(tally.covered) > 80
    assert tally.server_errors == []
    assert tally.schema_mismatches == []
