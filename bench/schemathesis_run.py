"""Schemathesis over every API operation against a `frontdesk serve` process, many examples each:
the longer run of tests/core/test_api_fuzz.py (which runs a few per operation in `make test`).

It prints, for the whole run, the operations and requests, the answers by status class, how many
were server errors and how many did not match the OpenAPI document (goal: 0 and 0), then each
failure. Requests go over one keep-alive connection, so a 500 that closed it would show as well.

Usage: python bench/schemathesis_run.py [examples per operation, default 50] [seed, default 25]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ADMIN_SECRET, prepare_services, start_server  # noqa: E402
from tests.conftest import tenant_spec  # noqa: E402
from tests.support.api_fuzz import Credentials, run  # noqa: E402

ORIGIN = "https://fuzz.example"


async def credentials(http: httpx.AsyncClient) -> Credentials:
    made = await http.post(
        "/api/v1/tenants",
        json=tenant_spec(slug=f"fuzz-{uuid.uuid4().hex[:8]}"),
        headers={"X-Admin-Secret": ADMIN_SECRET},
    )
    key = made.json()["api_key"]["key"]
    widget = await http.post(
        "/api/v1/api-keys",
        json={"kind": "publishable", "allowed_origins": [ORIGIN]},
        headers={"Authorization": f"Bearer {key}"},
    )
    widget_key = widget.json()["key"]
    session = await http.post(
        "/api/v1/chat/sessions", headers={"X-Widget-Key": widget_key, "Origin": ORIGIN}, json={}
    )
    return Credentials(key, ADMIN_SECRET, widget_key, ORIGIN, session.json()["token"])


async def main(per_operation: int, seed: int, database_url: str, redis_url: str) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        server, base = start_server(database_url, redis_url, Path(data_dir))
        try:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
                given = await credentials(http)
                schema = (await http.get("/openapi.json")).json()
                began = time.perf_counter()
                tally = await run(http.request, schema, given, per_operation=per_operation, seed=seed)
                elapsed = time.perf_counter() - began
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"schemathesis, {per_operation} valid and {per_operation} invalid examples per operation, seed {seed}"
    )
    print(tally.summary())
    print(f"{elapsed:.0f} s, {tally.requests / elapsed:.0f} requests/s")
    for failure in tally.server_errors + tally.schema_mismatches:
        print("  " + failure)


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:3]]
    # The embedded servers and a fresh database first: preparing them runs an event loop of its own.
    _, database, redis = prepare_services(ROOT / "var" / "bench")
    asyncio.run(main(*(arguments + [50, 25][len(arguments) :]), database, redis))
