"""Driving a conversation through the real turn pipeline (database, agent, policy), as channels do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from agent.loop import Agent, Inbound
from backend.conversations import service as conversations
from backend.conversations.service import StoredMessage
from backend.conversations.turns import Turns
from backend.core.context import Caller
from backend.core.db import Database
from tests.support.db import caller_for


@dataclass
class Chat:
    turns: Turns
    caller: Caller
    conversation_id: uuid.UUID
    now: datetime
    channel: str = "web"
    channel_phone: str | None = None
    replies: list[StoredMessage] = field(default_factory=list)

    async def say(self, text: str, choice: str | None = None, client_message_id: str | None = None) -> str:
        """Send a message; returns the replies' texts joined, and keeps the replies in `self.replies`."""
        answered = await self.turns.answer(
            self.caller,
            self.conversation_id,
            Inbound(text=text, choice=choice),
            channel=self.channel,
            now=self.now,
            client_message_id=client_message_id,
            channel_phone=self.channel_phone,
        )
        self.replies = answered.replies
        return "\n".join(m.text for m in self.replies)

    @property
    def chips(self) -> list[dict[str, str]]:
        return self.replies[-1].payload.get("quick_replies", []) if self.replies else []

    @property
    def time_chips(self) -> list[dict[str, str]]:
        """The offered times, without the "More times" chip after them."""
        return [c for c in self.chips if c["value"].startswith("slot:")]

    def chip(self, starting: str) -> dict[str, str]:
        return next(c for c in self.chips if c["label"].startswith(starting))

    async def tap(self, label_start: str) -> str:
        chip = self.chip(label_start)
        return await self.say(chip["label"], chip["value"])

    async def hold_with_details(
        self, ask: str = "check-up tomorrow afternoon", contact: str = "617-555-0100", pick: int = 0
    ) -> str:
        """Ask for a time, tap one, give a name and a contact: the engine then asks "Shall I book it?"."""
        await self.say(ask)
        await self.tap(self.time_chips[pick]["label"])
        await self.say("Jane Doe")
        return await self.say(contact)

    @property
    def card(self) -> dict | None:
        return next((m.payload["card"] for m in reversed(self.replies) if m.payload.get("card")), None)


async def open_chat(
    db: Database, tenant_id: str, now: datetime, agent: Agent | None = None, **options: object
) -> Chat:
    caller = await caller_for(db, tenant_id)

    async def start(session):
        conversation, _ = await conversations.start(session, caller.tenant, "web")
        return conversation.id

    conversation_id = await db.transaction(start)
    caller = Caller(caller.tenant, actor=f"conversation:{conversation_id}", correlation_id="test")
    turns = Turns(db, agent or Agent(), lease_seconds=60, max_chars=2000)
    return Chat(turns, caller, conversation_id, now, **options)  # type: ignore[arg-type]
