"""Telling the clinic when calendar sync needs a person: a connection that stopped working, a
booking that could not be written to a calendar, busy time that arrived over a booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller
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
) -> None:
    """An urgent e-mail to the clinic's alert address and owners, once per `dedupe_key`."""
    await staff.alert(
        session,
        caller,
        kind=kind,
        subject=subject,
        body=f"{body}\n\nSee Calendars in the Frontdesk workspace.",
        dedupe_key=dedupe_key,
        now=now,
    )
