"""Many appointments at once: a result for every row, bad rows reported and not written (not even
their patient), the same rows again changing nothing, and bodies too big refused before they are read."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

from tests.conftest import at, in_process_app, local_day
from tests.support.db import scalar
from tests.support.external import SOURCE, appointment, events_of
from tests.support.messaging import new_phone


def rows_for(tenant, count, *, day=10):
    start = at(local_day(day), "09:00")
    return [
        {
            **appointment(
                tenant, start + timedelta(minutes=30 * n), phone=new_phone(), name=f"Bulk Patient {n}"
            ),
            "source": SOURCE,
            "external_id": f"bulk-{n}",
        }
        for n in range(count)
    ]


async def counts(db, tenant):
    return (
        await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id),
        await scalar(db, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant.id),
        await scalar(db, "SELECT count(*) FROM scheduled_actions WHERE tenant_id = :t", t=tenant.id),
        await scalar(db, "SELECT count(*) FROM domain_events WHERE tenant_id = :t", t=tenant.id),
    )


async def test_a_result_per_row_bad_rows_not_written_and_the_same_rows_again_change_nothing(
    client, db, tenant
):
    good = rows_for(tenant, 6)
    end_first = {**good[1], "ends_at": good[1]["starts_at"]}
    unknown = {**good[2], "provider_id": None, "provider_external_id": "nobody"}
    two_zones = {**good[3], "ends_at": at(local_day(10), "11:00").astimezone(UTC).isoformat()}
    missing = {k: v for k, v in good[4].items() if k != "customer"}
    body = [good[0], end_first, unknown, two_zones, missing, good[5], "not an object"]
    response = await client.post("/api/v1/external-appointments:bulk", json=body, headers=tenant.auth)
    assert response.status_code == 200, response.text
    out = response.json()
    assert [r["result"] for r in out["results"]] == [
        "created",
        "error",
        "error",
        "error",
        "error",
        "created",
        "error",
    ]
    assert [r["index"] for r in out["results"]] == list(range(7))
    assert out["counts"] == {"created": 2, "error": 5}
    problems = {r["external_id"]: r["error"]["message"] for r in out["results"] if r["error"]}
    assert "ends_at must be after starts_at" in problems["bulk-1"]
    assert "nobody" in problems["bulk-2"] and "external_ids" in problems["bulk-2"]
    assert "one time zone" in problems["bulk-3"]
    assert "customer" in problems["bulk-4"]
    assert out["results"][6]["error"]["code"] == "VALIDATION_ERROR"
    # Only the two good rows exist, with their two patients: nothing of the others was written.
    before = await counts(db, tenant)
    assert before[:2] == (2, 2)

    again = await client.post("/api/v1/external-appointments:bulk", json=body, headers=tenant.auth)
    results = again.json()["results"]
    assert (results[0]["result"], results[5]["result"]) == ("unchanged", "unchanged")
    assert await counts(db, tenant) == before


async def test_ndjson_a_line_that_is_not_json_is_that_rows_error(client, db, tenant):
    rows = rows_for(tenant, 3, day=11)
    lines = [json.dumps(rows[0]), "{not json", "", json.dumps(rows[2])]
    response = await client.post(
        "/api/v1/external-appointments:bulk",
        content="\n".join(lines).encode(),
        headers={**tenant.auth, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert [r["result"] for r in response.json()["results"]] == ["created", "error", "created"]
    assert "row 1 is not JSON" in response.json()["results"][1]["error"]["message"]


async def test_rows_are_written_a_chunk_per_transaction(settings, db, tenant):
    small_chunks = settings.model_copy(update={"external_import_chunk_rows": 3})
    async with in_process_app(small_chunks) as app:
        response = await app.post(
            "/api/v1/external-appointments:bulk", json=rows_for(tenant, 10, day=12), headers=tenant.auth
        )
    assert response.json()["counts"] == {"created": 10}
    # Each event carries the id of the transaction that wrote it (a row's savepoint is inside it).
    transactions = await scalar(
        db, "SELECT count(DISTINCT xid::text) FROM domain_events WHERE tenant_id = :t", t=tenant.id
    )
    assert transactions == 4


async def test_an_update_refused_mid_chunk_leaves_the_rest_of_the_chunk_written(client, db, tenant):
    rows = rows_for(tenant, 3, day=13)
    reused = {
        **rows[0],
        "notes": "other values, same version",
        "customer": {"name": "Someone Else", "phone": new_phone()},
    }
    response = await client.post(
        "/api/v1/external-appointments:bulk", json=[rows[0], reused, rows[1], rows[2]], headers=tenant.auth
    )
    assert [r["result"] for r in response.json()["results"]] == ["created", "error", "created", "created"]
    assert response.json()["results"][1]["error"]["code"] == "CONFLICT"
    assert await scalar(db, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant.id) == 3
    assert [e["type"] for e in await events_of(db, tenant)] == ["booking.created"] * 3


async def test_too_many_rows_or_bytes_are_refused_with_413_before_anything_is_written(
    client, db, tenant, settings
):
    one = rows_for(tenant, 1, day=14)[0]
    too_many = await client.post(
        "/api/v1/external-appointments:bulk", json=[one] * 10_001, headers=tenant.auth
    )
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    sent = 0
    hundred_mb = 100 * 1024 * 1024

    async def endless():
        nonlocal sent
        chunk = b"[" + b" " * (1024 * 1024 - 1)
        while sent < hundred_mb:
            sent += len(chunk)
            yield chunk
            chunk = b" " * (1024 * 1024)

    declared = await client.post(
        "/api/v1/external-appointments:bulk",
        content=endless(),
        headers={**tenant.auth, "Content-Type": "application/json", "Content-Length": str(hundred_mb)},
    )
    assert declared.status_code == 413
    assert sent <= 1024 * 1024  # refused on its Content-Length, before the body was read
    sent = 0
    streamed = await client.post(
        "/api/v1/external-appointments:bulk",
        content=endless(),
        headers={**tenant.auth, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413 and "bytes" in streamed.json()["error"]["message"]
    assert sent <= settings.external_import_max_bytes + 2 * 1024 * 1024  # stopped at the limit, not at 100 MB
    assert await scalar(db, "SELECT count(*) FROM appointments WHERE tenant_id = :t", t=tenant.id) == 0


async def test_a_body_that_is_not_rows_is_a_422(client, tenant):
    not_rows = await client.post("/api/v1/external-appointments:bulk", json={"rows": []}, headers=tenant.auth)
    assert not_rows.status_code == 422 and "JSON array" in not_rows.json()["error"]["message"]
    empty = await client.post("/api/v1/external-appointments:bulk", json=[], headers=tenant.auth)
    assert empty.status_code == 422
    latin = await client.post(
        "/api/v1/external-appointments:bulk",
        content=b"[\xff]",
        headers={**tenant.auth, "Content-Type": "application/json"},
    )
    assert latin.status_code == 422 and "UTF-8" in latin.json()["error"]["message"]
