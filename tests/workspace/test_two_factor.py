"""Two-factor sign-in: enrolment with a QR code, sign-in with a code from the app, wrong codes
counted toward the lockout, recovery codes that work once, and a clinic requiring it.

The app's clock is the test's (`current_time` overridden), so codes are computed with pyotp for
exactly the moment the server reads them."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
from pydantic import SecretStr

from backend.core.crypto import KeyRing
from backend.core.deps import current_time
from backend.tenants import sessions, two_factor
from tests.conftest import in_process_app
from tests.support.db import rows, scalar
from tests.support.workspace import (
    PASSWORD,
    Staff,
    browser_like,
    form_token,
    invite_staff,
    mail_to,
    new_clinic,
    sign_in,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def step(self) -> None:
        """On to the next 30-second TOTP step."""
        self.now += timedelta(seconds=30)

    def code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.now)


@pytest.fixture
async def clocked(settings) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    clock = Clock()
    async with in_process_app(settings) as client:
        client._transport.app.dependency_overrides[current_time] = lambda: clock.now  # type: ignore[attr-defined]
        yield client, clock


def somewhere() -> str:
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def enrol(owner: Staff, clock: Clock) -> tuple[str, list[str]]:
    started = await owner.http.post("/api/v1/account/two-factor", headers=owner.headers())
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["qr_svg"].startswith("data:image/svg+xml")
    assert f"secret={secret}" in started.json()["otpauth_uri"]
    confirmed = await owner.http.post(
        "/api/v1/account/two-factor/confirm", json={"code": clock.code(secret)}, headers=owner.headers()
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def give_code(http: httpx.AsyncClient, code: str) -> httpx.Response:
    token = re.search(r'name="form_token" value="([^"]+)"', (await http.get("/app/login")).text)
    assert token
    return await http.post(
        "/app/login/code", data={"code": code, "form_token": token.group(1), "next": "/app/schedule"}
    )


async def test_enrolment_shows_a_qr_code_drawn_here_and_needs_a_right_first_code(clocked):
    client, clock = clocked
    owner = await new_clinic(client)
    page = await owner.http.get("/app/account/two-factor")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text  # drawn by the server, no image service
    started = await owner.http.post("/api/v1/account/two-factor", headers=owner.headers())
    secret = started.json()["secret"]
    wrong = await owner.http.post(
        "/api/v1/account/two-factor/confirm", json={"code": "000000"}, headers=owner.headers()
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["details"]["errors"][0]["field"] == "code"
    right = await owner.http.post(
        "/api/v1/account/two-factor/confirm", json={"code": clock.code(secret)}, headers=owner.headers()
    )
    assert right.status_code == 200
    codes = right.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = await rows(
        client._transport.app.state.db,  # type: ignore[attr-defined]
        "SELECT code_hash, u.totp_secret FROM staff_recovery_codes c JOIN staff_users u ON u.id = c.staff_id"
        " WHERE u.email = :e",
        e=owner.email,
    )
    assert len(stored) == 10
    assert all(code not in str(stored) for code in codes), "recovery codes are kept as hashes only"
    assert secret not in stored[0]["totp_secret"], "the secret is sealed"
    status = await owner.http.get("/api/v1/account/two-factor")
    assert status.json() == {"enabled": True, "required": False, "recovery_codes_left": 10}


async def test_sign_in_asks_for_the_code_after_the_password_and_a_code_works_once(clocked):
    client, clock = clocked
    owner = await new_clinic(client)
    secret, _ = await enrol(owner, clock)
    clock.step()

    http = browser_like(client, somewhere())
    password_ok = await sign_in(http, owner.email)
    assert password_ok.status_code == 200 and "Enter your code" in password_ok.text
    assert sessions.COOKIE not in http.cookies, "no session before the second factor"
    code = clock.code(secret)
    signed_in = await give_code(http, code)
    assert signed_in.status_code == 303 and sessions.COOKIE in signed_in.cookies
    assert (await http.get("/api/v1/tenant")).status_code == 200

    again = browser_like(client, somewhere())
    assert (await sign_in(again, owner.email)).status_code == 200
    replayed = await give_code(again, code)
    assert replayed.status_code == 401 and sessions.COOKIE not in replayed.cookies
    clock.step()
    assert (await give_code(again, clock.code(secret))).status_code == 303


async def test_a_code_form_without_a_right_password_first_signs_nobody_in(clocked):
    client, clock = clocked
    owner = await new_clinic(client)
    secret, _ = await enrol(owner, clock)
    clock.step()
    stranger = browser_like(client, somewhere())
    await form_token(stranger, "/app/login")
    refused = await give_code(stranger, clock.code(secret))
    assert refused.status_code == 403 and sessions.COOKIE not in refused.cookies


async def test_wrong_codes_count_toward_the_lockout_like_wrong_passwords(clocked, settings):
    client, clock = clocked
    owner = await new_clinic(client)
    secret, _ = await enrol(owner, clock)
    clock.step()
    guesser = browser_like(client, somewhere())
    assert (await sign_in(guesser, owner.email)).status_code == 200
    for _ in range(settings.staff_lockout_failures):
        wrong = await give_code(guesser, "123456" if clock.code(secret) != "123456" else "654321")
        assert wrong.status_code == 401 and "wrong or already used code" in wrong.text.lower()
    locked = await give_code(guesser, clock.code(secret))
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert sessions.COOKIE not in guesser.cookies
    # The right password from that address waits too; the owner's own address is not locked.
    assert (await sign_in(guesser, owner.email)).status_code == 429
    elsewhere = browser_like(client, somewhere())
    assert (await sign_in(elsewhere, owner.email)).status_code == 200
    assert (await give_code(elsewhere, clock.code(secret))).status_code == 303


async def test_a_recovery_code_signs_in_once(clocked):
    client, clock = clocked
    owner = await new_clinic(client)
    _, codes = await enrol(owner, clock)
    first = browser_like(client, somewhere())
    await sign_in(first, owner.email)
    assert (await give_code(first, codes[3].upper().replace("-", " "))).status_code == 303

    second = browser_like(client, somewhere())
    await sign_in(second, owner.email)
    spent = await give_code(second, codes[3])
    assert spent.status_code == 401 and sessions.COOKIE not in spent.cookies
    status = await first.get("/api/v1/account/two-factor")
    assert status.json()["recovery_codes_left"] == 9
    used = await rows(
        client._transport.app.state.db,  # type: ignore[attr-defined]
        "SELECT actor, details FROM audit_log WHERE action = 'staff.recovery_code_used' AND tenant_id = :t",
        t=owner.tenant_id,
    )
    assert len(used) == 1 and used[0]["details"] == {"left": 9}


async def test_a_password_reset_does_not_skip_the_code(clocked):
    client, clock = clocked
    owner = await new_clinic(client)
    await enrol(owner, clock)
    http = browser_like(client, somewhere())
    await http.post(
        "/app/reset", data={"email": owner.email, "form_token": await form_token(http, "/app/reset")}
    )
    link = re.search(r"(http\S+/app/reset/\S+)", await mail_to(client, owner.email, "staff_reset"))
    assert link
    path = "/app/" + link.group(1).split("/app/", 1)[1]
    reset = await http.post(
        path, data={"password": "a brand new password", "form_token": await form_token(http, path)}
    )
    assert reset.status_code == 200 and "Enter your code" in reset.text
    assert sessions.COOKIE not in http.cookies


async def test_a_clinic_requiring_it_for_owners_sends_them_to_set_it_up_first(clocked):
    client, clock = clocked
    owner = await new_clinic(client)
    member = await invite_staff(owner, client)
    required = await owner.http.patch(
        "/api/v1/tenant/settings",
        json={"settings": {"two_factor_required": "owners"}},
        headers=owner.headers(),
    )
    assert required.status_code == 200
    page = await owner.http.get("/app/schedule")
    assert page.status_code == 303 and page.headers["location"] == "/app/account/two-factor"
    api = await owner.http.get("/api/v1/bookings")
    assert api.status_code == 403 and api.json()["error"]["code"] == "TWO_FACTOR_REQUIRED"
    assert (await member.http.get("/app/schedule")).status_code == 200, "staff are not required"
    assert (await owner.http.get("/app/account/two-factor")).status_code == 200
    await enrol(owner, clock)
    assert (await owner.http.get("/app/schedule")).status_code == 200
    assert (await owner.http.get("/api/v1/bookings")).status_code == 200
    # The key of the clinic's own software is not a person: it is not asked for a code.
    assert (
        await client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {owner.api_key}"})
    ).status_code == 200


async def test_turning_it_off_needs_a_code_and_an_owner_can_reset_a_member(clocked):
    client, clock = clocked
    owner = await new_clinic(client)
    member = await invite_staff(owner, client)
    secret, _ = await enrol(member, clock)
    clock.step()
    refused = await member.http.post(
        "/api/v1/account/two-factor/disable", json={"code": "000000"}, headers=member.headers()
    )
    assert refused.status_code == 422
    team = (await owner.http.get("/api/v1/team")).json()
    staff_id = next(m["id"] for m in team if m["email"] == member.email)
    assert next(m for m in team if m["email"] == member.email)["two_factor"] is True
    reset = await owner.http.delete(f"/api/v1/team/{staff_id}/two-factor", headers=owner.headers())
    assert reset.status_code == 200 and reset.json()["two_factor"] is False
    again = browser_like(client, somewhere())
    assert (await sign_in(again, member.email, PASSWORD)).status_code == 303
    assert secret  # the old secret no longer matters: no code is asked


async def test_rekeying_reseals_the_secret_and_codes_still_work_with_only_the_new_key(clocked, settings):
    client, clock = clocked
    owner = await new_clinic(client)
    secret, _ = await enrol(owner, clock)
    clock.step()
    db = client._transport.app.state.db  # type: ignore[attr-defined]
    new_key = KeyRing.new_key("k9")
    both = KeyRing.parse(f"{new_key},{settings.secrets_keys.get_secret_value()}")
    assert await db.transaction(lambda session: two_factor.reseal_all(session, both)) >= 1
    sealed = await scalar(db, "SELECT totp_secret FROM staff_users WHERE email = :e", e=owner.email)
    assert sealed.startswith("k9:") and secret not in sealed
    only_new = settings.model_copy(update={"secrets_keys": SecretStr(new_key)})
    async with in_process_app(only_new) as rekeyed:
        rekeyed._transport.app.dependency_overrides[current_time] = lambda: clock.now  # type: ignore[attr-defined]
        http = browser_like(rekeyed, somewhere())
        assert (await sign_in(http, owner.email)).status_code == 200
        assert (await give_code(http, clock.code(secret))).status_code == 303
