"""SMS through the official Twilio client (its async HTTP client, on aiohttp).

Every message carries its outbox id in its status callback URL (signed by Twilio with the rest of
the URL), so a delivery receipt settles a row whose worker died before recording the send. A row
whose outcome is unknown is looked up in Twilio's Messages list before it is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from backend.core.settings import Settings
from backend.messaging.senders import Envelope, ProviderAccount, SendFailed

TWILIO_API = "https://api.twilio.com"
# Twilio error codes that no retry can fix.
OPTED_OUT = 21610  # the recipient replied STOP to this sender
TRANSIENT_STATUSES = frozenset({408, 429})
# Twilio filters the Messages list by day (UTC); a little earlier covers our clock running ahead.
CLOCK_SKEW = timedelta(minutes=10)
# Messages to one number from one sender over a day or two: a page or two at most.
LOOKUP_LIMIT = 200
T = TypeVar("T")


class RoutedHttpClient(AsyncTwilioHttpClient):
    """Sends the client's requests to another host (`TWILIO_API_BASE_URL`), path and all.

    The client's own `region`/`edge` options only rewrite `*.twilio.com` names.
    """

    def __init__(self, base_url: str | None) -> None:
        super().__init__(pool_connections=True)
        self.base_url = base_url.rstrip("/") if base_url else None

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return await super().request(method, url, *args, **kwargs)


class TwilioSender:
    name = "twilio"

    def __init__(self, settings: Settings, status_callback_url: str) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number
        self.http = RoutedHttpClient(settings.twilio_api_base_url)
        self.platform = ProviderAccount(
            settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value()
        )
        # One client per account and token: a rotated token gets a new client at its first send.
        self.clients: dict[ProviderAccount, Client] = {}
        self.from_number = settings.twilio_from_number
        self.status_callback_url = status_callback_url
        self.timeout = settings.provider_timeout_seconds

    async def send(self, envelope: Envelope) -> str:
        message = await self._call(
            self._client(envelope).messages.create_async(
                to=envelope.recipient,
                from_=envelope.sender or self.from_number,
                body=envelope.body,
                status_callback=f"{self.status_callback_url}?{urlencode({'outbox': envelope.message_id})}",
            )
        )
        assert message.sid is not None
        return message.sid

    async def find(self, envelope: Envelope, since: datetime, known: frozenset[str]) -> str | None:
        """The Messages to the recipient from our number since that day whose text is this one's.

        Twilio lists newest first; a trial account prefixes the text, hence `endswith`.
        """
        day = (since - CLOCK_SKEW).astimezone(UTC).date().isoformat()
        messages = await self._call(
            self._client(envelope).messages.list_async(
                to=envelope.recipient,
                from_=envelope.sender or self.from_number,
                date_sent_after=day,  # type: ignore[arg-type]  # the client passes a string on as it is
                limit=LOOKUP_LIMIT,
            )
        )
        for message in messages:
            if message.sid not in known and (message.body or "").endswith(envelope.body):
                return message.sid
        return None

    def _client(self, envelope: Envelope) -> Client:
        """The client of the clinic's own account, or of the platform's."""
        account = envelope.account or self.platform
        client = self.clients.get(account)
        if client is None:
            self.clients = {known: c for known, c in self.clients.items() if known.id != account.id}
            client = self.clients[account] = Client(account.id, account.secret, http_client=self.http)
        return client

    async def _call(self, request: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(request, timeout=self.timeout)
        except TwilioRestException as error:
            permanent = error.status < 500 and error.status not in TRANSIENT_STATUSES
            raise SendFailed(
                f"Twilio {error.status}: {error.msg}",
                permanent=permanent,
                code=str(error.code or error.status),
                opted_out=error.code == OPTED_OUT,
            ) from error
        except aiohttp.ClientConnectorError as error:
            raise SendFailed(f"Twilio unreachable: {type(error).__name__}", permanent=False) from error
        except (TimeoutError, aiohttp.ClientError) as error:
            # The request may have reached Twilio before the answer was lost.
            raise SendFailed(
                f"no answer from Twilio: {type(error).__name__}", permanent=False, maybe_sent=True
            ) from error

    async def close(self) -> None:
        await self.http.close()
