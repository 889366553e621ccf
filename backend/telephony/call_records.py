"""A call as Twilio describes it, and its records: the `voice_calls` row, each turn's stored answer,
and the per-tenant lock under which concurrent calls are counted."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.core.errors import ValidationFailed
from backend.core.schemas import E164_PATTERN
from backend.telephony.models import VoiceCall, VoiceTurn

E164 = re.compile(E164_PATTERN)


@dataclass(frozen=True)
class Call:
    sid: str
    caller_number: str
    practice_number: str

    @property
    def caller_phone(self) -> str | None:
        """The caller's number when it is one."""
        return real_phone(self.caller_number)


def real_phone(number: str) -> str | None:
    """The number when it is one; withheld numbers arrive as "anonymous" and the like."""
    return number if E164.fullmatch(number) else None


def parse_call(form: dict[str, str]) -> Call:
    sid = form.get("CallSid", "")
    if not sid:
        raise ValidationFailed("CallSid", "required")
    to = form.get("To", "")
    if not E164.fullmatch(to):
        raise ValidationFailed("To", "must be a phone number in E.164 form, like +16175550100")
    return Call(sid[:64], (form.get("From") or "anonymous")[:16], to)


async def stored_answer(session: AsyncSession, sid: str, step: int) -> str | None:
    return await session.scalar(
        select(VoiceTurn.twiml).where(VoiceTurn.call_sid == sid, VoiceTurn.step == step)
    )


def store_turn(session: AsyncSession, sid: str, step: int, heard: str, twiml: str) -> None:
    session.add(VoiceTurn(call_sid=sid, step=step, heard=heard[:2000], twiml=twiml))


def new_call(
    session: AsyncSession,
    call: Call,
    tenant: TenantContext,
    conversation_id: uuid.UUID | None,
    status: str,
    now: datetime,
    *,
    last_prompt: str = "",
    end_reason: str | None = None,
) -> None:
    session.add(
        VoiceCall(
            call_sid=call.sid,
            tenant_id=tenant.id,
            conversation_id=conversation_id,
            from_number=call.caller_number,
            to_number=call.practice_number,
            status=status,
            started_at=now,
            updated_at=now,
            ended_at=now if status != "active" else None,
            end_reason=end_reason,
            last_prompt=last_prompt,
        )
    )


def calls_lock(tenant_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(f"{tenant_id}:calls".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
