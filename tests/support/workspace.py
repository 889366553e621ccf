"""Signing in to the workspace as a browser does: the sign-in and invitation forms with their
double-submit token, then the session cookie and CSRF token on API calls."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx

from backend.core.db import Database
from backend.core.settings import Settings
from tests.conftest import ADMIN_SECRET, tenant_spec

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_CSRF = re.compile(r'csrf: "([0-9a-f]+)"')


@dataclass
class Staff:
    http: httpx.AsyncClient
    email: str
    csrf: str
    tenant_id: str
    api_key: str

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


def browser_like(client: httpx.AsyncClient, address: str | None = None) -> httpx.AsyncClient:
    """A client with its own cookie jar, on the same app as the shared test client (from another
    network address, if given)."""
    transport = client._transport
    if address is not None:
        transport = httpx.ASGITransport(app=transport.app, client=(address, 40000))  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=transport, base_url=client.base_url, follow_redirects=False)


async def form_token(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    match = _TOKEN.search(page.text)
    assert match, page.text
    return match.group(1)


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    token = await form_token(http, "/app/login")
    return await http.post(
        "/app/login",
        data={"email": email, "password": password, "form_token": token, "next": "/app/schedule"},
    )


async def csrf_of(http: httpx.AsyncClient) -> str:
    page = await http.get("/app/schedule")
    assert page.status_code == 200, page.status_code
    match = _CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


async def accept_invite(http: httpx.AsyncClient, link: str, password: str = PASSWORD) -> httpx.Response:
    path = "/app/" + link.split("/app/", 1)[1]
    token = await form_token(http, path)
    return await http.post(path, data={"password": password, "form_token": token})


async def new_clinic(client: httpx.AsyncClient, **overrides: object) -> Staff:
    """A clinic created with its first owner, who accepts the invitation and is signed in."""
    email = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    body = tenant_spec(**overrides) | {"owner": {"email": email, "name": "Olive Owner"}}
    made = await client.post("/api/v1/tenants", json=body, headers={"X-Admin-Secret": ADMIN_SECRET})
    assert made.status_code == 201, made.text
    http = browser_like(client)
    accepted = await accept_invite(http, made.json()["owner_invite_url"])
    assert accepted.status_code == 303, accepted.text
    return Staff(http, email, await csrf_of(http), made.json()["tenant"]["id"], made.json()["api_key"]["key"])


async def invite_staff(owner: Staff, client: httpx.AsyncClient, role: str = "staff") -> Staff:
    email = f"staff-{uuid.uuid4().hex[:8]}@clinic.example"
    invited = await owner.http.post(
        "/api/v1/team", json={"email": email, "name": "Sam Staff", "role": role}, headers=owner.headers()
    )
    assert invited.status_code == 201, invited.text
    return await invite_by_mail(owner, client, email)


async def mail_to(client: httpx.AsyncClient, email: str, kind: str = "staff_invite") -> str:
    """The newest account e-mail queued for `email`, opened as the dispatcher opens it to send it:
    nothing a person can read (the API, the pages) shows its link."""
    state = client._transport.app.state  # type: ignore[attr-defined]
    return await open_mail(state.db, state.settings, email, kind)


async def open_mail(db: Database, settings: Settings, email: str, kind: str = "staff_invite") -> str:
    """`mail_to` for any server on the test database (the key ring is the tests' own)."""
    from tests.support.db import rows

    mails = await rows(
        db,
        "SELECT sealed_body, dedupe_key FROM notification_outbox WHERE recipient = :r AND kind = :k"
        " ORDER BY created_at DESC",
        r=email,
        k=kind,
    )
    return settings.key_ring.open(mails[0]["sealed_body"], f"outbox:{mails[0]['dedupe_key']}")


async def invite_by_mail(owner: Staff, client: httpx.AsyncClient, email: str) -> Staff:
    """Follow the invitation link the outbox holds for `email`."""

    link = re.search(r"(http\S+/app/invite/\S+)", await mail_to(client, email)).group(1)
    http = browser_like(client)
    assert (await accept_invite(http, link)).status_code == 303
    return Staff(http, email, await csrf_of(http), owner.tenant_id, owner.api_key)


async def live_owner(base_url: str, **overrides: object) -> tuple[Staff, dict]:
    """On a server in a process of its own: a new clinic (`tenant_spec(**overrides)`) with its owner
    signed in, and the admin API's answer (its key, services, …)."""
    email = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    async with httpx.AsyncClient(base_url=base_url) as admin:
        made = await admin.post(
            "/api/v1/tenants",
            json=tenant_spec(**overrides) | {"owner": {"email": email, "name": "Olive Owner"}},
            headers={"X-Admin-Secret": ADMIN_SECRET},
        )
    assert made.status_code == 201, made.text
    http = httpx.AsyncClient(base_url=base_url)
    assert (await accept_invite(http, made.json()["owner_invite_url"])).status_code == 303
    body = made.json()
    return Staff(http, email, await csrf_of(http), body["tenant"]["id"], body["api_key"]["key"]), body


async def live_team(base_url: str, db: Database, settings: Settings) -> tuple[Staff, Staff, str]:
    """`live_owner`, and a member of staff signed in, with the member's id."""
    owner, _ = await live_owner(base_url)
    member_email = f"staff-{uuid.uuid4().hex[:8]}@clinic.example"
    invited = await owner.http.post(
        "/api/v1/team",
        json={"email": member_email, "name": "Sam Staff", "role": "staff"},
        headers=owner.headers(),
    )
    assert invited.status_code == 201, invited.text
    link = re.search(r"(http\S+/app/invite/\S+)", await open_mail(db, settings, member_email)).group(1)
    member_http = httpx.AsyncClient(base_url=base_url)
    assert (await accept_invite(member_http, link)).status_code == 303
    member = Staff(member_http, member_email, await csrf_of(member_http), owner.tenant_id, owner.api_key)
    return owner, member, invited.json()["id"]
