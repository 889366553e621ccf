"""Webhook signing secrets: made here, shown to the clinic once, stored sealed with the key ring,
and sealed again under a new current key by `frontdesk rekey`."""

from __future__ import annotations

import base64
import os
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.crypto import KeyRing
from backend.events.models import WebhookEndpoint

PREFIX = "whsec_"


def new() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(os.urandom(32)).decode()


def seal(ring: KeyRing, endpoint: WebhookEndpoint, secret: str) -> str:
    return ring.seal(secret, _context(endpoint))


def live(ring: KeyRing, endpoint: WebhookEndpoint, now: datetime) -> tuple[str, ...]:
    """The secrets to sign with: the current one, and during a rotation's overlap the previous."""
    current = ring.open(endpoint.secret, _context(endpoint))
    previous = endpoint.previous_secret
    expires = endpoint.previous_secret_expires_at
    if previous is None or expires is None or expires <= now:
        return (current,)
    return current, ring.open(previous, _context(endpoint))


def _context(endpoint: WebhookEndpoint) -> str:
    # Bound to the row: a sealed secret copied onto another endpoint does not open there.
    return f"webhook_endpoint:{endpoint.id}"


async def reseal_all(session: AsyncSession, ring: KeyRing) -> int:
    """Seal every stored secret again under the ring's current key (after a new key is put first),
    so the old key can then leave the ring. The number of endpoints changed."""
    changed = 0
    rows = await session.execute(select(WebhookEndpoint).with_for_update())
    for endpoint in rows.scalars():
        stale = [
            field
            for field in ("secret", "previous_secret")
            if getattr(endpoint, field) is not None and not ring.is_current(getattr(endpoint, field))
        ]
        for field in stale:
            setattr(
                endpoint,
                field,
                ring.seal(ring.open(getattr(endpoint, field), _context(endpoint)), _context(endpoint)),
            )
        changed += bool(stale)
    return changed
