"""A booking reference keyed in on a phone's keypad: each letter or digit pressed as the key it is
on (A, B and C on 2, and so on; a reference has no 0 or 1). The keys stand for a few references at
most; the one upcoming booking of the tenant they fit is the one meant. It is only a claim, as a
reference said or typed is: the caller still proves the booking is theirs with its contact."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.scheduling.availability import OCCUPYING
from backend.scheduling.booking import REFERENCE_LENGTH
from backend.scheduling.models import Appointment

KEYPAD = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ"}
_LETTERS = "".join(KEYPAD.values())
_THEIR_KEYS = "".join(key * len(letters) for key, letters in KEYPAD.items())
_KEYED = re.compile(rf"[2-9]{{{REFERENCE_LENGTH}}}")


async def reference_keyed(
    session: AsyncSession, tenant: TenantContext, keys: str, now: datetime
) -> str | None:
    """The reference of the tenant's one upcoming booking these keys spell; None when they fit
    none, or more than one."""
    if not _KEYED.fullmatch(keys):
        return None
    found = await session.scalars(
        select(Appointment.reference)
        .where(
            Appointment.tenant_id == tenant.id,
            Appointment.status.in_(OCCUPYING),
            Appointment.starts_at > now,
            func.translate(Appointment.reference, _LETTERS, _THEIR_KEYS) == keys,
        )
        .limit(2)
    )
    references = found.all()
    return references[0] if len(references) == 1 else None
