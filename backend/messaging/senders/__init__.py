"""Who actually delivers a message: Twilio for SMS, SMTP for e-mail, or the `log` provider.

A sender either returns the provider's message id or raises `SendFailed`, saying whether trying
again could help and whether the provider may have taken the message all the same (a timeout after
the request went out). Asked about a message whose outcome was never recorded, it says whether the
provider has it. It knows nothing about the outbox, retries or policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ProviderAccount:
    """A clinic's own account at the provider (Twilio: the account SID and auth token), to send its
    messages from instead of the platform's."""

    id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Envelope:
    message_id: str  # the outbox row, for the provider's logs and our status callbacks
    channel: str
    recipient: str
    subject: str | None
    body: str
    # SMS: the number to send from; None means the provider's default.
    sender: str | None = None
    # The clinic's own provider account; None means the platform's.
    account: ProviderAccount | None = None


class SendFailed(Exception):
    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        opted_out: bool = False,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        # The provider says the recipient has opted out (Twilio 21610): never text them again.
        self.opted_out = opted_out
        # No answer came, but the request may have reached the provider: ask before sending again.
        self.maybe_sent = maybe_sent


class Sender(Protocol):
    name: str

    async def send(self, envelope: Envelope) -> str:
        """Hand the message to the provider; return its message id."""
        ...

    async def find(self, envelope: Envelope, since: datetime, known: frozenset[str]) -> str | None:
        """The provider's id for this message if the provider took it since `since` (ids in `known`
        belong to other messages); None if it did not, or cannot be asked (then sending again is the
        only way to deliver it: at least once). Raises `SendFailed` when it cannot answer now."""
        ...

    async def close(self) -> None: ...
