"""E-mail over SMTP with the standard library client, in a thread so the worker's loop keeps going.

SMTP has no way to ask whether a message arrived, so e-mail is delivered at least once: every
attempt at one outbox row carries the same Message-ID (`<row id@sender's domain>`), which lets mail
systems and readers fold a repeat into the first.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from backend.core.settings import Settings
from backend.messaging.senders import Envelope, SendFailed


class SmtpSender:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.sender = settings.smtp_from
        self.domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "frontdesk.invalid"
        self.timeout = settings.provider_timeout_seconds

    async def send(self, envelope: Envelope) -> str:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = envelope.recipient
        message["Subject"] = envelope.subject or ""
        message_id = f"{envelope.message_id}@{self.domain}"
        message["Message-ID"] = f"<{message_id}>"
        message.set_content(envelope.body)
        await asyncio.to_thread(self._deliver, message)
        return message_id[:64]

    async def find(self, envelope: Envelope, since: datetime, known: frozenset[str]) -> str | None:
        return None  # nobody to ask: send again, under the same Message-ID

    def _deliver(self, message: EmailMessage) -> None:
        try:
            if self.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username and self.password:
                    client.login(self.username, self.password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            raise SendFailed(_reason(reason), permanent=code >= 500, code=str(code)) from error
        except smtplib.SMTPResponseException as error:
            raise SendFailed(
                _reason(error.smtp_error), permanent=error.smtp_code >= 500, code=str(error.smtp_code)
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            # Connection refused, timeouts, a dropped connection: the server may be back soon.
            raise SendFailed(f"SMTP server unreachable: {type(error).__name__}", permanent=False) from error

    async def close(self) -> None:
        return None


def _reason(raw: bytes | str) -> str:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return text[:300]
