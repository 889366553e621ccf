"""A booking on the demo clinic of a `frontdesk serve` process, reminded by e-mail the way the worker
does it (its reminder action, then the outbox sent to the local SMTP server), with the links the
patient finds in that e-mail."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from email.message import Message

import httpx

from backend.core.db import Database
from backend.core.settings import Settings
from backend.messaging.actions import ActionRunner, Due
from tests.conftest import LiveServer
from tests.fakes.smtp_server import FakeSmtp
from tests.support.db import rows
from tests.support.messaging import dispatcher_for, new_email, provider_settings


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


async def remind_by_email(
    db: Database, settings: Settings, live_server: LiveServer, smtp: FakeSmtp, day: str, name: str
) -> RemindedVisit:
    """Book a check-up with Dr. Maya Chen on `day` (a free time picked at random) for a patient
    reachable by e-mail, run its first reminder and send it."""
    auth = {"Authorization": f"Bearer {live_server.demo_key}"}
    email = new_email()
    async with httpx.AsyncClient(base_url=live_server.base_url, headers=auth) as api:
        services = (await api.get("/api/v1/services")).json()
        check_up = next(s for s in services if s["name"] == "Check-up")
        found = await api.get("/api/v1/availability", params={"service_id": check_up["id"], "from": day})
        slots = [s for s in found.json()["slots"] if s["provider_name"] == "Dr. Maya Chen"]
        slots = [s for s in slots if s["local_date"] == day]
        pick = random.randrange(0, max(1, len(slots) - 6))
        slot = slots[pick]
        made = await api.post(
            "/api/v1/bookings",
            json={
                "service_id": check_up["id"],
                "provider_id": slot["provider_id"],
                "starts_at": slot["starts_at"],
                "customer": {"name": name, "email": email},
            },
        )
        assert made.status_code == 201, made.text
        booked = made.json()
        now_free = await api.get("/api/v1/availability", params={"service_id": check_up["id"], "from": day})
    free_after = [
        s
        for s in now_free.json()["slots"]
        if s["provider_name"] == "Dr. Maya Chen"
        and s["local_date"] == day
        and s["starts_at"] > slot["starts_at"]
    ]
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
