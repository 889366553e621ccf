"""Revocation reaches live connections (issue 25): signing out, signing out everywhere, a new
role and removal from the team each end the inbox's `/staff` connections they concern at once —
it no longer receives patients' messages — and a revoked widget key ends its chats. Driven against
a real `frontdesk serve` with the python-socketio client; tests/e2e/test_scale_out.py does it
across two API processes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import socketio

from backend.tenants.sessions import COOKIE
from tests.support.workspace import Staff, csrf_of, live_team, sign_in
from tests.webchat.test_webchat_socket import PAGE, Client

# A bound for a test that would otherwise hang, not a measurement.
PATIENCE = 10


class InboxSocket:
    """The workspace's live connection, as the page opens it: the session cookie, its own Origin."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.ended = asyncio.Event()
        self.refusal: object = None
        self.sio.on("disconnect", lambda *reason: self.ended.set(), namespace="/staff")
        self.sio.on("connect_error", self._refused, namespace="/staff")

    def _refused(self, data: object) -> None:
        self.refusal = data

    async def connect(self, base_url: str, staff: Staff) -> InboxSocket:
        cookie = staff.http.cookies.get(COOKIE)
        await self.sio.connect(
            base_url,
            namespaces=["/staff"],
            headers={"Origin": base_url, "Cookie": f"{COOKIE}={cookie}"},
            transports=["websocket"],
        )
        return self

    async def until_ended(self) -> None:
        await asyncio.wait_for(self.ended.wait(), PATIENCE)


async def signed_in_again(base_url: str, staff: Staff) -> Staff:
    http = httpx.AsyncClient(base_url=base_url)
    assert (await sign_in(http, staff.email)).status_code == 303
    return Staff(http, staff.email, await csrf_of(http), staff.tenant_id, staff.api_key)


async def test_signing_out_ends_that_sessions_connection_and_everywhere_ends_them_all(
    live_server, db, settings
):
    base = live_server.base_url
    _, member, _ = await live_team(base, db, settings)
    second, third = await signed_in_again(base, member), await signed_in_again(base, member)
    here = await InboxSocket().connect(base, member)
    there = await InboxSocket().connect(base, second)
    elsewhere = await InboxSocket().connect(base, third)

    await member.http.post("/app/logout", data={"csrf_token": member.csrf})
    await here.until_ended()
    assert there.sio.connected and elsewhere.sio.connected

    await second.http.post("/app/logout-everywhere", data={"csrf_token": second.csrf})
    await there.until_ended()
    await elsewhere.until_ended()


async def test_a_new_role_ends_the_connection_and_removal_keeps_it_out(live_server, db, settings):
    base = live_server.base_url
    owner, member, member_id = await live_team(base, db, settings)
    inbox = await InboxSocket().connect(base, member)
    promoted = await owner.http.patch(
        f"/api/v1/team/{member_id}", json={"role": "owner"}, headers=owner.headers()
    )
    assert promoted.status_code == 200
    await inbox.until_ended()

    # Still signed in: the page reconnects as the new role.
    inbox = await InboxSocket().connect(base, member)
    demoted = await owner.http.patch(
        f"/api/v1/team/{member_id}", json={"role": "staff"}, headers=owner.headers()
    )
    assert demoted.status_code == 200
    await inbox.until_ended()
    inbox = await InboxSocket().connect(base, member)
    removed = await owner.http.delete(f"/api/v1/team/{member_id}", headers=owner.headers())
    assert removed.status_code == 204
    await inbox.until_ended()
    again = InboxSocket()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect(base, member)
    assert isinstance(again.refusal, dict) and again.refusal["data"]["code"] == "UNAUTHORIZED"


async def test_revoking_a_widget_key_ends_its_chats(live_server, db, settings):
    base = live_server.base_url
    owner, _, _ = await live_team(base, db, settings)
    auth = {"Authorization": f"Bearer {owner.api_key}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as api:
        made = (
            await api.post("/api/v1/api-keys", json={"kind": "publishable", "allowed_origins": [PAGE]})
        ).json()
        patient = Client()
        ended = asyncio.Event()
        patient.sio.on("disconnect", lambda *reason: ended.set())
        await patient.connect(base, made["key"])
        await patient.sio.call("hello", {"last_seq": 0})
        assert (await api.delete(f"/api/v1/api-keys/{made['id']}")).status_code in (200, 204)
    await asyncio.wait_for(ended.wait(), PATIENCE)
