"""The provider for machines without accounts: a message is "sent" by recording it.

The outbox row keeps the full text (staff see it in the API); the log line says only that it went,
to whom in masked form, and how long it was: a body names the patient and the visit.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from backend.messaging.senders import Envelope
from policy.redaction import redact_for_log

log = logging.getLogger("frontdesk.outbox.log_provider")


class LogSender:
    name = "log"

    async def send(self, envelope: Envelope) -> str:
        log.info(
            "%s %s to %s (%d characters; the text is in GET /api/v1/notifications)",
            envelope.channel,
            envelope.message_id,
            redact_for_log(envelope.recipient),
            len(envelope.body),
        )
        return f"log-{uuid.uuid4().hex}"

    async def find(self, envelope: Envelope, since: datetime, known: frozenset[str]) -> str | None:
        return None  # a log line is not worth keeping exactly once

    async def close(self) -> None:
        return None
