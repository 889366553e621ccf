"""A local SMTP server (aiosmtpd) that keeps what it receives, so the standard SMTP client runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.fakes.serving import free_port


@dataclass
class FakeSmtp:
    port: int
    received: list[Message] = field(default_factory=list)
    # Addresses answered with a permanent 550 (mailbox unavailable).
    refused: set[str] = field(default_factory=set)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.received if m["To"] == address]


class _Handler:
    def __init__(self, fake: FakeSmtp) -> None:
        self.fake = fake

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.fake.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.fake.received.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def running_fake_smtp() -> Iterator[FakeSmtp]:
    fake = FakeSmtp(port=free_port())
    controller = Controller(_Handler(fake), hostname="127.0.0.1", port=fake.port)
    controller.start()
    try:
        yield fake
    finally:
        controller.stop()
