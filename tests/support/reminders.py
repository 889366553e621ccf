"""A booking on the demo clinic of a `frontdesk serve` process, reminded by e-mail the way the worker
does it (its reminder action, then the outbox sent to the local SMTP server), with the links the
patient finds in that e-mail."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

import httpx
import pytest

from backend.core.db import Database
from backend.core.settings import Settings
from backend.messaging.actions import ActionRunner, Due
from tests.conftest import LiveServer
from tests.fakes.smtp_server import FakeSmtp, running_fake_smtp
from tests.support.db import rows
from tests.support.messaging import dispatcher_for, new_email, provider_settings


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with running_fake_smtp() as fake:
        yield fake


@dataclass(frozen=True)
class RemindedVisit:
    appointment_id: str
    reference: str
    starts_at: str
    email: str
    body: str
    free_after: list[dict]  # the provider's free times later that day, once it was booked

    def link(self, label: str) -> str:
        """The path of one of the e-mail's links ("Confirm", "Cancel", "Move it in our chat")."""
        return re.search(rf"{label}: https?://[^/\s]+(/r/\S+)", self.body).group(1)


def text_of(message: Message) -> str:
    if not message.is_multipart():
        return message.get_payload(decode=True).decode()
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


async def appointment_now(db: Database, appointment_id: str) -> dict:
    [row] = await rows(
        db,
        "SELECT status, starts_at, confirmed_via, late_minutes FROM appointments WHERE id = :id",
        id=uuid.UUID(appointment_id),
    )
    return row


def demo_api(live_server: LiveServer) -> httpx.AsyncClient:
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    return httpx.AsyncClient(base_url=live_server.base_url, headers=auth)


async def free_check_ups(api: httpx.AsyncClient, day: str) -> tuple[str, list[dict]]:
    """The check-up's id, and Dr. Maya Chen's free times for it on `day`."""
    services = (await api.get("/api/v1/services")).json()
    check_up = next(s["id"] for s in services if s["name"] == "Check-up")
    found = await api.get("/api/v1/availability", params={"service_id": check_up, "from": day})
    slots = [s for s in found.json()["slots"] if s["provider_name"] == "Dr. Maya Chen"]
    return check_up, [s for s in slots if s["local_date"] == day]


async def book_check_up(api: httpx.AsyncClient, check_up: str, slot: dict, customer: dict) -> dict:
    made = await api.post(
        "/api/v1/bookings",
        json={
            "service_id": check_up,
            "provider_id": slot["provider_id"],
            "starts_at": slot["starts_at"],
            "customer": customer,
        },
    )
    assert made.status_code == 201, made.text
    return made.json()


async def remind_by_email(
    db: Database, settings: Settings, live_server: LiveServer, smtp: FakeSmtp, day: str, name: str
) -> RemindedVisit:
    """Book a check-up with Dr. Maya Chen on `day` (a free time picked at random) for a patient
    reachable by e-mail, run its first reminder and send it."""
    email = new_email()
    async with demo_api(live_server) as api:
        check_up, slots = await free_check_ups(api, day)
        slot = slots[random.randrange(0, max(1, len(slots) - 6))]
        booked = await book_check_up(api, check_up, slot, {"name": name, "email": email})
        _, now_free = await free_check_ups(api, day)
    free_after = [s for s in now_free if s["starts_at"] > slot["starts_at"]]
    [action] = await rows(
        db,
        "SELECT id, tenant_id, due_at FROM scheduled_actions WHERE appointment_id = :a "
        "AND action = 'send_reminder' ORDER BY due_at LIMIT 1",
        a=uuid.UUID(booked["id"]),
    )
    # The worker's settings: its links lead to the server the patient's browser opens.
    worker = Settings(_env_file=None, **(settings.model_dump() | {"public_base_url": live_server.base_url}))
    await ActionRunner(db, worker).run(
        Due(action["id"], action["tenant_id"], "send_reminder"), action["due_at"]
    )
    async with dispatcher_for(db, provider_settings(worker, None, smtp)) as dispatcher:
        await dispatcher.drain(action["due_at"])
    [message] = [m for m in smtp.to(email) if m["Subject"].startswith("Reminder")]
    return RemindedVisit(
        booked["id"], booked["reference"], slot["starts_at"], email, text_of(message), free_after
    )
