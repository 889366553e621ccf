"""Telling a clinic's people about operational trouble: an urgent e-mail to its alert address and
owners (a calendar that stopped working, messages that are not going out)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller
from backend.messaging import outbox
from backend.tenants import staff


async def tell_staff(
    session: AsyncSession,
    caller: Caller,
    *,
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str,
    now: datetime,
    see: str,
) -> None:
    """An urgent e-mail to the clinic's alert address and owners, once per `dedupe_key`; `see` is
    where in the workspace they can act on it."""
    tenant = caller.tenant
    for recipient in await staff.alert_recipients(session, tenant):
        await outbox.enqueue(
            session,
            caller,
            outbox.NewMessage(
                kind=kind,
                channel="email",
                recipient=recipient,
                subject=f"{tenant.name}: {subject}",
                body=f"{body}\n\nSee {see} in the Frontdesk workspace.",
                dedupe_key=f"{dedupe_key}:{recipient}",
                urgent=True,
            ),
            now,
        )
