"""Signed, short-lived links that reopen a phone conversation in the web chat ("text me a link").

The link carries the tenant, the conversation and an expiry, signed with HMAC-SHA256; nothing is
stored, and the link is its own credential for the widget on our handoff page. Possession proves
the caller's phone: the link was only ever texted to the number that called.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from backend.core.settings import Settings

PREFIX = "hf_"
PAGE_PATH = "/h/"


class HandoffInvalid(Exception):
    pass


@dataclass(frozen=True)
class HandoffGrant:
    tenant_id: uuid.UUID
    conversation_id: uuid.UUID
    expires_at: datetime


class HandoffLinks:
    def __init__(self, secret: bytes, public_base_url: str, lifetime: timedelta) -> None:
        self._key = hashlib.sha256(b"frontdesk handoff link\0" + secret).digest()
        self.public_base_url = public_base_url.rstrip("/")
        self.lifetime = lifetime

    @classmethod
    def from_settings(cls, settings: Settings) -> HandoffLinks:
        # Derived from the admin secret (required in production, generated in development), so a
        # deployment has one secret less to manage; rotating it only voids links that live minutes.
        # Without one (an embedded test app) a per-process secret still signs and checks links.
        secret = settings.admin_secret.get_secret_value() if settings.admin_secret else secrets.token_hex(32)
        return cls(
            secret.encode(),
            settings.public_base_url,
            timedelta(minutes=settings.handoff_link_minutes),
        )

    @property
    def origin(self) -> str:
        """The origin of our own pages: the only one a handoff link opens the widget on."""
        parts = urlsplit(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    def expiry(self, now: datetime, until: datetime | None = None) -> datetime:
        """When a link issued now stops working: after its lifetime, or with what it continues (a
        held time) if that ends first."""
        ends = now + self.lifetime
        return min(ends, until) if until is not None else ends

    def issue(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, expires_at: datetime) -> str:
        """The link to text the caller, working until `expires_at` (see `expiry`)."""
        expires = int(expires_at.timestamp())
        payload = _b64(json.dumps({"t": str(tenant_id), "c": str(conversation_id), "e": expires}).encode())
        return f"{self.public_base_url}{PAGE_PATH}{PREFIX}{payload}.{self._sign(payload)}"

    def read(self, token: str, now: datetime) -> HandoffGrant:
        if not token.startswith(PREFIX) or token.count(".") != 1:
            raise HandoffInvalid("this is not a conversation link")
        payload, signature = token.removeprefix(PREFIX).split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            raise HandoffInvalid("this conversation link is not valid")
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            grant = HandoffGrant(
                uuid.UUID(data["t"]), uuid.UUID(data["c"]), datetime.fromtimestamp(int(data["e"]), now.tzinfo)
            )
        except (ValueError, KeyError, TypeError) as error:
            raise HandoffInvalid("this conversation link is not valid") from error
        if grant.expires_at <= now:
            raise HandoffInvalid("this conversation link has expired; call or text us again for a new one")
        return grant

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def is_handoff_token(credential: str) -> bool:
    return credential.startswith(PREFIX)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
