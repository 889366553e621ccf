"""Google push notifications: a watch channel per calendar that blocks time, so a change in the
provider's calendar is read within seconds instead of at the next scheduled read. Channels expire
(Google's limit); each is renewed a day before it would.

Only where Google can reach us (a public https address, or GOOGLE_PUSH_NOTIFICATIONS=true).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calendars.google_account import GoogleAccount
from backend.calendars.models import CalendarSource
from backend.core.settings import Settings

NOTIFICATION_PATH = "/calendars/google/notifications"
RENEW_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class Channel:
    source_id: uuid.UUID
    channel_id: str
    resource_id: str
    token_hash: str
    expires_at: datetime


def renew(
    settings: Settings, account: GoogleAccount, sources: list[CalendarSource], now: datetime
) -> list[Channel]:
    """Open a channel for each calendar without a live one (and close the one it replaces). In a thread."""
    if not settings.google_push_enabled:
        return []
    address = settings.public_base_url.rstrip("/") + NOTIFICATION_PATH
    opened = []
    for source in sources:
        if source.watch_expires_at is not None and source.watch_expires_at > now + RENEW_BEFORE:
            continue
        if source.watch_channel_id and source.watch_resource_id:
            account.stop_watch(source.watch_channel_id, source.watch_resource_id)
        channel_id, token = uuid.uuid4().hex, secrets.token_urlsafe(32)
        answer = account.watch(source.external_id, channel_id, token, address)
        expires = datetime.fromtimestamp(int(answer.get("expiration", 0)) / 1000, UTC)
        opened.append(
            Channel(
                source.id,
                channel_id,
                answer["resourceId"],
                hashlib.sha256(token.encode()).hexdigest(),
                expires,
            )
        )
    return opened


async def record(session: AsyncSession, channels: list[Channel]) -> None:
    for channel in channels:
        await session.execute(
            update(CalendarSource)
            .where(CalendarSource.id == channel.source_id)
            .values(
                watch_channel_id=channel.channel_id,
                watch_resource_id=channel.resource_id,
                watch_token_hash=channel.token_hash,
                watch_expires_at=channel.expires_at,
            )
        )
