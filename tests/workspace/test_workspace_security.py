"""The workspace's locks: CSRF on every change, other clinics' objects answered as missing, what
the staff role may not do, sessions that end, and accounts that lock after repeated failures."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

from backend.tenants import sessions
from tests.conftest import at, in_process_app, local_day
from tests.support.db import rows, scalar
from tests.support.messaging import book_at, new_phone
from tests.support.workspace import PASSWORD, browser_like, form_token, invite_staff, new_clinic, sign_in


async def test_a_change_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, db):
    owner = await new_clinic(client)
    body = {"name": "Dr. New", "kind": "person", "hours": []}
    missing = await owner.http.post("/api/v1/providers", json=body)
    forged = await owner.http.post("/api/v1/providers", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert missing.status_code == forged.status_code == 403
    assert missing.json()["error"]["code"] == forged.json()["error"]["code"] == "CSRF_FAILED"
    count = "SELECT count(*) FROM providers WHERE tenant_id = :t AND name = 'Dr. New'"
    assert await scalar(db, count, t=owner.tenant_id) == 0
    made = await owner.http.post("/api/v1/providers", json=body, headers=owner.headers())
    assert made.status_code == 201, made.text
    assert await scalar(db, count, t=owner.tenant_id) == 1
    # Reading needs no token; the secret-key API needs none either (no cookie, no CSRF).
    assert (await owner.http.get("/api/v1/providers")).status_code == 200


async def test_the_sign_in_form_needs_its_own_token(client):
    owner = await new_clinic(client)
    http = browser_like(client)
    refused = await http.post(
        "/app/login", data={"email": owner.email, "password": PASSWORD, "form_token": "x"}
    )
    assert refused.status_code == 403 and sessions.COOKIE not in refused.cookies


async def test_another_clinics_objects_are_answered_as_missing_in_pages_and_api(client, db):
    mine, theirs = await new_clinic(client), await new_clinic(client)
    services = (await theirs.http.get("/api/v1/services")).json()
    appointment = await book_at(
        db,
        theirs.tenant_id,
        services[0]["id"],
        at(local_day(3), "10:00"),
        datetime.now(UTC),
        phone=new_phone(),
    )
    customer_id = appointment.customer_id
    for path in (f"/api/v1/bookings/{appointment.id}", f"/api/v1/customers/{customer_id}"):
        assert (await theirs.http.get(path)).status_code == 200, path
        assert (await mine.http.get(path)).status_code == 404, path
    patched = await mine.http.patch(
        f"/api/v1/customers/{customer_id}", json={"name": "Mine now"}, headers=mine.headers()
    )
    erased = await mine.http.post(f"/api/v1/customers/{customer_id}/erase", headers=mine.headers())
    assert patched.status_code == erased.status_code == 404
    page = await mine.http.get(f"/app/patients/{customer_id}")
    assert page.status_code == 404 and "Not found" in page.text
    assert (await theirs.http.get(f"/app/patients/{customer_id}")).status_code == 200


async def test_staff_cannot_manage_keys_team_settings_or_the_audit_log(client, db):
    owner = await new_clinic(client)
    member = await invite_staff(owner, client)
    h = member.headers()
    assert (await member.http.post("/api/v1/api-keys", json={"kind": "secret"}, headers=h)).status_code == 403
    assert (await member.http.get("/api/v1/api-keys")).status_code == 403
    invite = {"email": "x@clinic.example", "name": "X", "role": "owner"}
    assert (await member.http.post("/api/v1/team", json=invite, headers=h)).status_code == 403
    assert (
        await member.http.patch(
            "/api/v1/tenant/settings", json={"settings": {"max_days_ahead": 5}}, headers=h
        )
    ).status_code == 403
    assert (await member.http.get("/api/v1/audit-log")).status_code == 403
    assert (await member.http.get("/app/settings")).status_code == 403
    # What staff do: the schedule, the inbox, patients.
    for path in ("/app/schedule", "/app/inbox", "/app/patients", "/app/messages"):
        assert (await member.http.get(path)).status_code == 200, path
    assert "Audit log" not in (await member.http.get("/app/schedule")).text
    # What they change is audited under their own name.
    services = (await member.http.get("/api/v1/services")).json()
    appointment = await book_at(
        db,
        owner.tenant_id,
        services[0]["id"],
        at(local_day(4), "10:00"),
        datetime.now(UTC),
        phone=new_phone(),
    )
    fixed = await member.http.patch(
        f"/api/v1/customers/{appointment.customer_id}", json={"name": "Maria López"}, headers=h
    )
    assert fixed.status_code == 200 and fixed.json()["name"] == "Maria López"
    [entry] = await rows(
        db,
        "SELECT actor FROM audit_log WHERE action = 'customer.updated' AND entity_id = :c",
        c=str(appointment.customer_id),
    )
    staff_id = await scalar(db, "SELECT id FROM staff_users WHERE email = :e", e=member.email)
    assert entry["actor"] == f"staff:{staff_id}"


async def test_a_session_ends_after_idle_time_and_when_signed_out_everywhere(client, db, settings):
    owner = await new_clinic(client)
    second = browser_like(client)
    assert (await sign_in(second, owner.email)).status_code == 303
    assert (await second.get("/api/v1/tenant")).status_code == 200

    idle = settings.staff_session_idle_minutes + 1
    await scalar(
        db,
        "UPDATE staff_sessions SET last_seen_at = now() - make_interval(mins => :m)"
        " WHERE token_hash = :h RETURNING 1",
        m=idle,
        h=hashlib.sha256(second.cookies[sessions.COOKIE].encode()).hexdigest(),
    )
    assert (await second.get("/api/v1/tenant")).status_code == 401
    page = await second.get("/app/schedule")
    assert page.status_code == 303 and page.headers["location"].startswith("/app/login?next=")

    assert (await owner.http.get("/api/v1/tenant")).status_code == 200
    out = await owner.http.post("/app/logout-everywhere", data={"csrf_token": owner.csrf})
    assert out.status_code == 303
    assert (await owner.http.get("/api/v1/tenant")).status_code == 401
    revoked = await rows(
        db,
        "SELECT revoked_at FROM staff_sessions s JOIN staff_users u ON u.id = s.staff_id WHERE u.email = :e",
        e=owner.email,
    )
    assert revoked and all(r["revoked_at"] is not None for r in revoked)


def somewhere() -> str:
    """A network address of its own (per-address counts are shared by every test of a run)."""
    return f"203.0.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def test_wrong_passwords_make_only_the_address_they_came_from_wait(client, settings):
    owner = await new_clinic(client)
    attacker = browser_like(client, somewhere())
    for _ in range(settings.staff_lockout_failures):
        wrong = await sign_in(attacker, owner.email, "not the password at all")
        assert wrong.status_code == 401 and "wrong e-mail address or password" in wrong.text.lower()
    waiting = await sign_in(attacker, owner.email, PASSWORD)
    assert waiting.status_code == 429 and "too many failed sign-ins" in waiting.text.lower()
    assert int(waiting.headers["retry-after"]) > 0
    assert sessions.COOKIE not in waiting.cookies
    # The owner, from their own address, is not locked out by someone else's guesses.
    at_the_clinic = browser_like(client, somewhere())
    signed_in = await sign_in(at_the_clinic, owner.email, PASSWORD)
    assert signed_in.status_code == 303 and sessions.COOKIE in signed_in.cookies


async def test_unknown_and_locked_accounts_are_answered_alike(client, settings):
    owner = await new_clinic(client)
    nobody = f"nobody-{secrets.token_hex(4)}@clinic.example"
    answers: dict[str, list[tuple[int, str]]] = {}
    for email in (owner.email, nobody):
        http = browser_like(client, somewhere())
        seen = []
        for password in ["wrong password here"] * settings.staff_lockout_failures + [PASSWORD]:
            response = await sign_in(http, email, password)
            error = re.search(r'class="error"[^>]*>([^<]*)<', response.text)
            seen.append((response.status_code, error.group(1) if error else ""))
        answers[email] = seen
    assert answers[owner.email] == answers[nobody]
    assert answers[nobody][-1][0] == 429


async def test_guessing_from_many_addresses_cannot_keep_the_owner_out_of_their_own(settings):
    strict = settings.model_copy(update={"staff_account_lockout_failures": 4})
    async with in_process_app(strict) as client:
        owner = await new_clinic(client)
        home = somewhere()
        assert (await sign_in(browser_like(client, home), owner.email)).status_code == 303
        for _ in range(4):  # one guess from each of many addresses: no address reaches its own limit
            assert (await sign_in(browser_like(client, somewhere()), owner.email, "guess")).status_code == 401
        new_address = await sign_in(browser_like(client, somewhere()), owner.email)
        assert new_address.status_code == 429, "addresses the account never used must wait"
        back_home = await sign_in(browser_like(client, home), owner.email)
        assert back_home.status_code == 303 and sessions.COOKIE in back_home.cookies


async def test_signing_out_without_the_csrf_token_signs_nobody_out(client):
    owner = await new_clinic(client)
    forged = await owner.http.post("/app/logout", data={})
    assert forged.status_code == 303 and forged.headers["location"] == "/app/schedule"
    assert "set-cookie" not in forged.headers
    assert (await owner.http.get("/api/v1/tenant")).status_code == 200
    out = await owner.http.post("/app/logout", data={"csrf_token": owner.csrf})
    assert out.status_code == 303 and out.headers["location"] == "/app/login"
    assert (await owner.http.get("/api/v1/tenant")).status_code == 401


async def test_a_nul_in_the_sign_in_or_reset_form_is_a_422(client):
    http = browser_like(client, somewhere())
    for path, fields in (
        ("/app/login", {"email": "a\x00b@clinic.example", "password": PASSWORD}),
        ("/app/reset", {"email": "a\x00b@clinic.example"}),
    ):
        token = await form_token(http, path)
        response = await http.post(path, data=fields | {"form_token": token})
        assert response.status_code == 422, response.text
        assert "NUL" in response.json()["error"]["message"]


async def test_a_csrf_token_with_characters_no_token_has_is_refused_not_a_500(client):
    owner = await new_clinic(client)
    forged = await owner.http.post(
        "/api/v1/providers", json={"name": "Dr. New", "hours": []}, headers={"X-CSRF-Token": b"\xe9" * 64}
    )
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "CSRF_FAILED"
    out = await owner.http.post("/app/logout", data={"csrf_token": "é"})
    assert out.status_code == 303 and (await owner.http.get("/api/v1/tenant")).status_code == 200
