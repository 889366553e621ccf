"""The provider for machines without accounts: a message is "sent" by recording it.

The outbox row keeps the full text (staff see it in the API); the log line is redacted.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from backend.messaging.senders import Envelope
from policy.redaction import redact_text

log = logging.getLogger("frontdesk.outbox.log_provider")


class LogSender:
    name = "log"

    async def send(self, envelope: Envelope) -> str:
        log.info(
            "%s to %s: %s", envelope.channel, redact_text(envelope.recipient), redact_text(envelope.body[:80])
        )
        return f"log-{uuid.uuid4().hex}"

    async def find(self, envelope: Envelope, since: datetime, known: frozenset[str]) -> str | None:
        return None  # a log line is not worth keeping exactly once

    async def close(self) -> None:
        return None
