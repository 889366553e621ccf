"""Two API processes and two workers on one PostgreSQL and one Redis, as the design promises:
a widget on process A hears a member of staff answering through process B; bookers split over
both processes still make one winner; texts load-balanced over both are each answered once, and no
outbox row is sent twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import ADMIN_SECRET, ROOT, SECRETS_KEYS, _free_port, at, local_day
from tests.fakes import twilio_server as twilio
from tests.fakes.twilio_server import running_fake_twilio
from tests.support.db import rows
from tests.support.messaging import new_phone
from tests.support.phone import new_sid
from tests.support.workspace import live_owner, live_team
from tests.webchat.test_revocation_reaches_sockets import InboxSocket
from tests.webchat.test_webchat_socket import Client

PUBLIC = "http://frontdesk.test"
ORIGIN = "https://clinic.example"


@dataclass
class Cluster:
    api: list[str]
    twilio: twilio.FakeTwilio


def _env(settings, fake: twilio.FakeTwilio, data_dir) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "ADMIN_SECRET": ADMIN_SECRET,
        "SECRETS_KEYS": SECRETS_KEYS,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS_ENABLED": "false",
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": twilio.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": twilio.AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": twilio.FROM_NUMBER,
        "TWILIO_API_BASE_URL": fake.base_url,
        "WORKER_SWEEP_SECONDS": "1",
    }


@pytest.fixture
async def cluster(settings, tmp_path) -> AsyncIterator[Cluster]:
    async with running_fake_twilio() as fake:
        env = _env(settings, fake, tmp_path)
        processes: list[subprocess.Popen] = []
        urls = []
        try:
            for _ in range(2):
                port = _free_port()
                command = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)]
                processes.append(await asyncio.to_thread(subprocess.Popen, command, cwd=ROOT, env=env))
                urls.append(f"http://127.0.0.1:{port}")
            for _ in range(2):
                worker = [sys.executable, "-m", "backend.cli", "worker"]
                processes.append(await asyncio.to_thread(subprocess.Popen, worker, cwd=ROOT, env=env))
            async with httpx.AsyncClient() as http:
                for url in urls:
                    await _until_ready(http, url)
            yield Cluster(urls, fake)
        finally:
            # Also when a process never came up: a leaked cluster would hold the test database's
            # connections for every test after this one.
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    await asyncio.to_thread(process.wait, 30)
                except subprocess.TimeoutExpired:
                    process.kill()


async def _until_ready(http: httpx.AsyncClient, url: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if (await http.get(f"{url}/ready", timeout=1)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "frontdesk serve did not start"
        await asyncio.sleep(0.2)


async def _clinic(base: str) -> tuple[dict, httpx.AsyncClient, str]:
    """A clinic with its owner signed in (on `base`)."""
    owner, made = await live_owner(base)
    return made, owner.http, owner.csrf


async def test_a_widget_on_one_process_hears_staff_answering_through_the_other(cluster):
    a, b = cluster.api
    made, staff, csrf = await _clinic(b)
    auth = {"Authorization": f"Bearer {made['api_key']['key']}"}
    async with httpx.AsyncClient(base_url=a, headers=auth) as api:
        widget = await api.post("/api/v1/api-keys", json={"kind": "publishable", "allowed_origins": [ORIGIN]})
    patient = Client()
    await patient.connect(a, widget.json()["key"], ORIGIN)
    await patient.sio.call("hello", {"last_seq": 0})
    await patient.sio.call("message", {"text": "I need to speak to a person", "client_message_id": "p1"})
    await patient.wait_for(2)
    [conversation] = (await staff.get("/api/v1/conversations")).json()["items"]
    path = f"/api/v1/conversations/{conversation['id']}"
    assert (await staff.post(f"{path}/takeover", headers={"X-CSRF-Token": csrf})).status_code == 200
    sent = await staff.post(
        f"{path}/messages", json={"text": "Hi, Olive here."}, headers={"X-CSRF-Token": csrf}
    )
    assert sent.status_code == 201
    await patient.wait_for(4)
    assert [(m["role"], m["text"]) for m in patient.messages[2:4]] == [
        ("system", "Olive from Test Clinic has joined the conversation."),
        ("staff", "Hi, Olive here."),
    ]
    await patient.sio.disconnect()


async def test_bookers_split_over_both_processes_make_one_winner(cluster):
    made, _, _ = await _clinic(cluster.api[0])
    auth = {"Authorization": f"Bearer {made['api_key']['key']}"}
    service = next(s["id"] for s in made["services"] if s["name"] == "Check-up")
    starts = at(local_day(6), "10:00").isoformat()

    async def book(n: int) -> int:
        async with httpx.AsyncClient(base_url=cluster.api[n % 2], headers=auth, timeout=60) as http:
            body = {
                "service_id": service,
                "starts_at": starts,
                "customer": {"name": f"P {n}", "phone": new_phone()},
            }
            return (await http.post("/api/v1/bookings", json=body)).status_code

    answers = Counter(await asyncio.gather(*(book(n) for n in range(20))))
    assert answers == Counter({201: 1, 409: 19})


async def test_texts_spread_over_both_processes_are_each_answered_once(cluster, db):
    made, _, _ = await _clinic(cluster.api[0])
    auth = {"Authorization": f"Bearer {made['api_key']['key']}"}
    async with httpx.AsyncClient(base_url=cluster.api[0], headers=auth) as api:
        practice = (await api.post("/api/v1/phone-numbers", json={"number": new_phone("646")})).json()[
            "number"
        ]
    patients = [new_phone() for _ in range(10)]
    async with httpx.AsyncClient() as http:
        for n, patient in enumerate(patients):
            params = {
                "MessageSid": new_sid(),
                "From": patient,
                "To": practice,
                "Body": "what are your hours?",
                "NumMedia": "0",
            }
            signature = RequestValidator(twilio.AUTH_TOKEN).compute_signature(PUBLIC + "/twilio/sms", params)
            answered = await http.post(
                f"{cluster.api[n % 2]}/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
            )
            assert answered.status_code == 200
    for _ in range(150):
        if all(cluster.twilio.to(p) for p in patients):
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # time for a second, duplicate send to show up if one were coming
    assert [len(cluster.twilio.to(p)) for p in patients] == [1] * 10
    sent = await rows(
        db,
        "SELECT provider_message_id FROM notification_outbox"
        " WHERE tenant_id = :t AND channel = 'sms' AND status = 'sent'",
        t=made["tenant"]["id"],
    )
    assert len(sent) == 10 and len({r["provider_message_id"] for r in sent}) == 10


async def test_removing_a_member_through_one_process_ends_their_inbox_on_both(cluster, db, settings):
    a, b = cluster.api
    owner, member, member_id = await live_team(b, db, settings)
    inboxes = [await InboxSocket().connect(url, member) for url in (a, b)]
    removed = await owner.http.delete(f"/api/v1/team/{member_id}", headers=owner.headers())
    assert removed.status_code == 204
    for inbox in inboxes:
        await inbox.until_ended()
