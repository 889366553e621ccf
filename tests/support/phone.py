"""Twilio as a patient's phone sees it: signed webhooks into the real app, the worker's inbox and
dispatcher answering them, and the texts that arrive at the local Twilio server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from twilio.request_validator import RequestValidator

from backend.app import create_app
from backend.conversations.receptionist import build_turns
from backend.core.db import Database
from backend.core.settings import Settings
from backend.messaging.dispatcher import Dispatcher
from backend.telephony.sms_inbox import SmsInbox
from tests.fakes.twilio_server import AUTH_TOKEN, FakeTwilio, SentSms, running_fake_twilio
from tests.support.messaging import dispatcher_for, new_phone, provider_settings

PUBLIC = "https://frontdesk.example.com"
_message_ids = iter(range(10**9))


def signed(path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    """The header Twilio sends: the official validator's signature over our public URL."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(PUBLIC + path, params)}


def new_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_message_ids):032d}"


@dataclass
class Phones:
    web: httpx.AsyncClient
    twilio: FakeTwilio
    inbox: SmsInbox
    dispatcher: Dispatcher
    config: Settings

    async def post(self, path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> httpx.Response:
        return await self.web.post(path, data=params, headers=signed(path, params, token))

    async def text(self, patient: str, practice: str, body: str, sid: str | None = None) -> httpx.Response:
        params = {
            "MessageSid": sid or new_sid(),
            "From": patient,
            "To": practice,
            "Body": body,
            "NumMedia": "0",
        }
        return await self.post("/twilio/sms", params)

    async def settle(self) -> None:
        """What the worker does after a nudge: answer the texts, then send what is due."""
        while await self.inbox.process_due(datetime.now(UTC)):
            pass
        await self.dispatcher.drain(datetime.now(UTC))

    def received(self, patient: str) -> list[SentSms]:
        return self.twilio.to(patient)

    async def say(self, patient: str, practice: str, body: str) -> str:
        """Text the practice and return what came back (every new text, joined)."""
        before = len(self.received(patient))
        response = await self.text(patient, practice, body)
        assert response.status_code == 200, response.text
        await self.settle()
        return "\n".join(m.body for m in self.received(patient)[before:])

    async def add_number(self, auth: dict[str, str], number: str | None = None) -> str:
        response = await self.web.post(
            "/api/v1/phone-numbers",
            headers=auth,
            json={"number": number or new_phone("646"), "label": "Front"},
        )
        assert response.status_code == 201, response.text
        return response.json()["number"]


@asynccontextmanager
async def phone_lines(db: Database, settings: Settings, **extra: object) -> AsyncIterator[Phones]:
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, public_base_url=PUBLIC, **extra)
        app = create_app(config)
        async with (
            dispatcher_for(db, config) as dispatcher,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://10.0.0.7:8000") as web,
        ):
            yield Phones(web, twilio, SmsInbox(db, config, build_turns(db, config)), dispatcher, config)
        await app.state.db.dispose()
        await app.state.redis.aclose()


def option(text: str, number: int) -> str:
    """The label of a numbered option in a text ("2) Tue, Dec 1 at 10:30 AM")."""
    match = re.search(rf"^{number}\) (.+)$", text, re.M)
    assert match, text
    return match.group(1)
