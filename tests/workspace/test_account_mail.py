"""Account e-mails are readable only by their recipient (the second critical finding of the
security review: a staff member read the owner's reset link from the notifications API, set a
new password and signed in as the owner)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import httpx

from tests.fakes.smtp_server import running_fake_smtp
from tests.support.db import rows
from tests.support.messaging import dispatcher_for, provider_settings
from tests.support.workspace import (
    PASSWORD,
    browser_like,
    form_token,
    invite_staff,
    mail_to,
    new_clinic,
    sign_in,
)

LINK = re.compile(r"/app/(?:reset|invite)/[A-Za-z0-9_-]{20,}")


async def ask_for_reset(client, email: str) -> None:
    # From an address of its own: the form allows ten requests an hour per address.
    app = client._transport.app
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    http = httpx.AsyncClient(transport=transport, base_url=client.base_url)
    token = await form_token(http, "/app/reset")
    answered = await http.post("/app/reset", data={"email": email, "form_token": token})
    assert answered.status_code == 200


async def set_password(client, link: str, password: str):
    http = browser_like(client)
    path = "/app/" + link.split("/app/", 1)[1]
    page = await http.get(path)
    if page.status_code != 200:
        return page
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    return await http.post(path, data={"password": password, "form_token": token})


async def test_a_staff_member_cannot_read_the_owners_reset_link(client):
    owner = await new_clinic(client)
    member = await invite_staff(owner, client)
    await ask_for_reset(client, owner.email)

    # Everything a member of staff (or any secret key) can read about the e-mail: no link in it.
    listed = await member.http.get("/api/v1/notifications", headers=member.headers())
    by_key = await client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {owner.api_key}"})
    page = await member.http.get("/app/messages")
    for shown in (listed.text, by_key.text, page.text):
        assert not LINK.search(shown), shown[:300]
    [reset] = [m for m in listed.json()["items"] if m["kind"] == "staff_reset"]
    assert "password-reset" in reset["body"] and reset["recipient"] == owner.email
    # Nor can the invitation sent to the member be read back by anyone.
    assert not any(LINK.search(m["body"]) for m in listed.json()["items"])

    # Asking for a reset signs nobody out: the owner is still in.
    assert (await owner.http.get("/app/schedule")).status_code == 200


async def test_the_reset_link_reaches_only_its_mailbox_works_once_and_the_newest_wins(client, db, settings):
    owner = await new_clinic(client)
    await ask_for_reset(client, owner.email)
    first = LINK.search(await mail_to(client, owner.email, "staff_reset")).group(0)
    await ask_for_reset(client, owner.email)

    with running_fake_smtp() as smtp:
        async with dispatcher_for(db, provider_settings(settings, None, smtp)) as dispatcher:
            await dispatcher.drain(datetime.now(UTC))
    delivered = [m.get_payload() for m in smtp.to(owner.email)]
    links = [m.group(0) for body in delivered if (m := LINK.search(body)) and "/reset/" in m.group(0)]
    assert len(links) == 2 and first in links
    [newest] = [link for link in links if link != first]
    # Once sent, the sealed text is gone from the database too.
    leftover = await rows(
        db,
        "SELECT sealed_body FROM notification_outbox WHERE recipient = :r AND status = 'sent'",
        r=owner.email,
    )
    assert leftover and all(row["sealed_body"] is None for row in leftover)

    assert (await set_password(client, "http://x" + first, "a brand new password 1")).status_code == 404
    assert (await set_password(client, "http://x" + newest, "a brand new password 1")).status_code == 303
    assert (await set_password(client, "http://x" + newest, "another new password 2")).status_code == 404
    # Used: the sessions signed in before it end, and the new password is the one that works.
    assert (await owner.http.get("/app/schedule")).status_code in (302, 303, 401)
    assert (await sign_in(browser_like(client), owner.email, PASSWORD)).status_code != 303
    assert (await sign_in(browser_like(client), owner.email, "a brand new password 1")).status_code == 303


async def test_a_failed_account_email_cannot_be_resent_with_its_link_gone(client, db, settings):
    owner = await new_clinic(client)
    member_email = "refused-mailbox@clinic.example"
    invited = await owner.http.post(
        "/api/v1/team", json={"email": member_email, "name": "Ria", "role": "staff"}, headers=owner.headers()
    )
    assert invited.status_code == 201
    with running_fake_smtp() as smtp:
        smtp.refused.add(member_email)
        async with dispatcher_for(db, provider_settings(settings, None, smtp)) as dispatcher:
            await dispatcher.drain(datetime.now(UTC))
    [failed] = await rows(
        db, "SELECT id, status, sealed_body FROM notification_outbox WHERE recipient = :r", r=member_email
    )
    assert failed["status"] == "permanently_failed" and failed["sealed_body"] is None
    again = await owner.http.post(f"/api/v1/notifications/{failed['id']}/retry", headers=owner.headers())
    assert again.status_code == 409 and "send a new one" in again.json()["error"]["message"]
