"""The clinic's FAQ through /api/v1/faq: what a clinic's software and the workspace both call."""

from __future__ import annotations

import uuid

from tests.support.db import rows, scalar
from tests.support.workspace import invite_staff, new_clinic

PARKING = {
    "questions": ["Where can I park?", "Is there parking?"],
    "answer": "Free parking behind the building, entrance on Elm Street.",
    "topic": "parking",
    "position": 20,
}


async def count(db, tenant_id: str) -> int:
    return await scalar(db, "SELECT count(*) FROM faq_entries WHERE tenant_id = :t", t=tenant_id)


async def test_an_owner_adds_reads_changes_and_deletes_an_entry_and_each_change_is_audited(
    client, tenant, db
):
    made = await client.post("/api/v1/faq", json=PARKING, headers=tenant.auth)
    assert made.status_code == 201, made.text
    entry = made.json()
    assert entry["questions"] == PARKING["questions"] and entry["topic"] == "parking"
    insurance = {
        "questions": ["Do you take insurance?"],
        "answer": "We take Delta Dental PPO.",
        "position": 10,
    }
    assert (await client.post("/api/v1/faq", json=insurance, headers=tenant.auth)).status_code == 201

    listed = (await client.get("/api/v1/faq", headers=tenant.auth)).json()
    assert [e["questions"][0] for e in listed] == ["Do you take insurance?", "Where can I park?"]
    assert listed[0]["topic"] is None
    path = f"/api/v1/faq/{entry['id']}"
    assert (await client.get(path, headers=tenant.auth)).json() == entry

    changed = await client.patch(
        path,
        json={"answer": "Parking is in the garage next door.", "questions": ["parking?"], "topic": None},
        headers=tenant.auth,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["answer"] == "Parking is in the garage next door." and body["questions"] == ["parking?"]
    assert body["topic"] is None and body["position"] == 20
    assert body["updated_at"] > entry["updated_at"] and body["created_at"] == entry["created_at"]
    untouched = await client.patch(path, json={"position": 5}, headers=tenant.auth)
    assert untouched.json()["answer"] == "Parking is in the garage next door."

    assert (await client.delete(path, headers=tenant.auth)).status_code == 204
    assert (await client.get(path, headers=tenant.auth)).status_code == 404
    assert (await client.delete(path, headers=tenant.auth)).status_code == 404

    audit = await rows(
        db,
        "SELECT action, actor, details FROM audit_log WHERE entity_id = :e ORDER BY id",
        e=entry["id"],
    )
    assert [a["action"] for a in audit] == ["faq.created", "faq.updated", "faq.updated", "faq.deleted"]
    assert all(a["actor"].startswith("key:sk_live_") for a in audit)
    assert audit[1]["details"]["fields"] == ["answer", "questions", "topic"]
    assert all("garage" not in str(a["details"]) for a in audit)


async def test_bad_input_is_a_clear_422_and_writes_nothing(client, tenant, db):
    def bad(**changes):
        return {**PARKING, **changes}

    cases = {
        "questions": bad(questions=[]),
        "answer": bad(answer="x" * 10_000),
        "answer ": bad(answer="   "),
        "questions.0": bad(questions=["Where can I park?", "where can I   PARK?"]),
        "topic": bad(topic="opening hours"),
        "position": bad(position=-1),
        "extra": bad(price="$10"),
        "nul": bad(answer="free\x00parking"),
        "question too long": bad(questions=["q" * 301]),
        "too many questions": bad(questions=[f"question {n}" for n in range(21)]),
    }
    for name, body in cases.items():
        response = await client.post("/api/v1/faq", json=body, headers=tenant.auth)
        assert response.status_code == 422, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and error["details"]["errors"], name
        assert error["retryable"] is False
    not_json = await client.post(
        "/api/v1/faq", content=b"questions=parking", headers={**tenant.auth, "Content-Type": "text/plain"}
    )
    assert not_json.status_code == 422
    assert await count(db, tenant.id) == 0

    made = (await client.post("/api/v1/faq", json=PARKING, headers=tenant.auth)).json()
    path = f"/api/v1/faq/{made['id']}"
    for body in ({"answer": None}, {"questions": []}, {"answer": "y" * 2001}, {"id": str(uuid.uuid4())}):
        response = await client.patch(path, json=body, headers=tenant.auth)
        assert response.status_code == 422, (body, response.text)
    assert (await client.get(path, headers=tenant.auth)).json() == made
    assert (await client.get("/api/v1/faq/not-a-uuid", headers=tenant.auth)).status_code == 422


async def test_one_phrasing_belongs_to_one_entry(client, tenant, db):
    first = (await client.post("/api/v1/faq", json=PARKING, headers=tenant.auth)).json()
    other = {"questions": ["Do you validate parking?", "is there PARKING?"], "answer": "Yes."}
    taken = await client.post("/api/v1/faq", json=other, headers=tenant.auth)
    assert taken.status_code == 409, taken.text
    assert taken.json()["error"]["details"] == {"question": "is there PARKING?", "faq_entry_id": first["id"]}
    second = (
        await client.post(
            "/api/v1/faq", json={**other, "questions": ["Do you validate parking?"]}, headers=tenant.auth
        )
    ).json()
    moved = await client.patch(
        f"/api/v1/faq/{second['id']}", json={"questions": ["where can i park?"]}, headers=tenant.auth
    )
    assert moved.status_code == 409
    # An entry may keep (or re-case) its own phrasings.
    recased = await client.patch(
        f"/api/v1/faq/{first['id']}", json={"questions": ["WHERE can I park?"]}, headers=tenant.auth
    )
    assert recased.status_code == 200
    assert await count(db, tenant.id) == 2


async def test_another_clinics_entry_is_answered_like_a_missing_one(client, make_tenant):
    mine, theirs = await make_tenant(), await make_tenant()
    entry = (await client.post("/api/v1/faq", json=PARKING, headers=theirs.auth)).json()
    path = f"/api/v1/faq/{entry['id']}"
    assert (await client.get(path, headers=mine.auth)).status_code == 404
    assert (await client.patch(path, json={"answer": "mine now"}, headers=mine.auth)).status_code == 404
    assert (await client.delete(path, headers=mine.auth)).status_code == 404
    assert (await client.get("/api/v1/faq", headers=mine.auth)).json() == []
    assert (await client.get(path, headers=theirs.auth)).json()["answer"] == PARKING["answer"]
    # Asking another clinic's way is not a conflict: each clinic has its own FAQ.
    assert (await client.post("/api/v1/faq", json=PARKING, headers=mine.auth)).status_code == 201


async def test_a_retried_post_adds_the_entry_once(client, tenant, db):
    headers = {**tenant.auth, "Idempotency-Key": f"faq-{uuid.uuid4()}"}
    first = await client.post("/api/v1/faq", json=PARKING, headers=headers)
    again = await client.post("/api/v1/faq", json=PARKING, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    other = await client.post("/api/v1/faq", json={**PARKING, "answer": "No parking."}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await count(db, tenant.id) == 1


async def test_the_faq_holds_at_most_a_hundred_entries(client, tenant, db):
    for n in range(100):
        body = {"questions": [f"question number {n}?"], "answer": f"answer {n}", "position": n}
        assert (await client.post("/api/v1/faq", json=body, headers=tenant.auth)).status_code == 201
    full = await client.post("/api/v1/faq", json=PARKING, headers=tenant.auth)
    assert full.status_code == 409 and "100 entries" in full.json()["error"]["message"]
    assert await count(db, tenant.id) == 100


async def test_staff_read_the_faq_and_only_owners_change_it(client, db):
    owner = await new_clinic(client)
    member = await invite_staff(owner, client)
    made = await owner.http.post("/api/v1/faq", json=PARKING, headers=owner.headers())
    assert made.status_code == 201
    path = f"/api/v1/faq/{made.json()['id']}"
    assert [e["id"] for e in (await member.http.get("/api/v1/faq")).json()] == [made.json()["id"]]
    assert (await member.http.get(path)).status_code == 200
    h = member.headers()
    other = {**PARKING, "questions": ["Do you have a car park?"]}
    assert (await member.http.post("/api/v1/faq", json=other, headers=h)).status_code == 403
    assert (await member.http.patch(path, json={"answer": "No."}, headers=h)).status_code == 403
    assert (await member.http.delete(path, headers=h)).status_code == 403
    assert (await member.http.get("/app/settings/faq")).status_code == 403
    # An owner's session needs the CSRF token to change anything.
    forged = await owner.http.post("/api/v1/faq", json=other)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "CSRF_FAILED"
    assert (await client.get("/api/v1/faq")).status_code == 401
    assert await count(db, owner.tenant_id) == 1
    [created] = await rows(
        db, "SELECT actor FROM audit_log WHERE action = 'faq.created' AND entity_id = :e", e=made.json()["id"]
    )
    assert created["actor"].startswith("staff:")


async def test_the_api_reference_documents_the_faq_with_examples_and_errors(client):
    spec = (await client.get("/openapi.json")).json()
    collection, item = spec["paths"]["/api/v1/faq"], spec["paths"]["/api/v1/faq/{entry_id}"]
    assert set(collection) == {"get", "post"} and set(item) == {"get", "patch", "delete"}
    assert {"401", "403", "409", "422"} <= set(collection["post"]["responses"])
    assert {"404", "409", "422"} <= set(item["patch"]["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["FaqEntryIn"]["examples"][0]["topic"] == "parking"
    assert schemas["FaqEntryOut"]["examples"][0]["questions"]
    assert "parking" in schemas["FaqEntryIn"]["properties"]["topic"]["anyOf"][0]["enum"]
