"""Who actually delivers a message: Twilio for SMS, SMTP for e-mail, or the `log` provider.

A sender either returns the provider's message id or raises `SendFailed`, saying whether trying
again could help. It knows nothing about the outbox, retries or policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Envelope:
    message_id: str  # the outbox row, for the provider's logs and our status callbacks
    channel: str
    recipient: str
    subject: str | None
    body: str
    # SMS: the number to send from; None means the provider's default.
    sender: str | None = None


class SendFailed(Exception):
    def __init__(
        self, message: str, *, permanent: bool, code: str | None = None, opted_out: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        # The provider says the recipient has opted out (Twilio 21610): never text them again.
        self.opted_out = opted_out


class Sender(Protocol):
    name: str

    async def send(self, envelope: Envelope) -> str:
        """Hand the message to the provider; return its message id."""
        ...

    async def close(self) -> None: ...
