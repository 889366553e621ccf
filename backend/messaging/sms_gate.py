"""Whether each text of a claimed batch may go now: the opt-out list, the recipient's quiet hours and
the per-number rate limit, decided for the whole batch in three statements however large it is
(per row it was four round trips, which capped the outbox at the database's latency), plus one per
clinic whose texts quiet hours may hold (only those need the clinic's settings).

Numbers that are rate-limited are locked (transaction-scoped advisory locks, in one global order)
before they are counted, so two workers claiming texts to one number cannot both see room for one.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, bindparam, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext
from backend.core.settings import Settings
from backend.messaging import opt_outs
from backend.messaging.models import OutboxMessage
from backend.scheduling import appointment_lists
from backend.tenants import service as tenants_service
from policy.quiet_hours import quiet_until

# Kinds a patient is waiting for (answers to their own text), and the clinic's on-call alerts of an
# emergency: never held for quiet hours or limits.
ANSWERS = frozenset(
    {"reply", "opt_out_confirmation", "opt_in_confirmation", "help", "handoff_link", "triage_alert"}
)
OPT_OUT_CONFIRMATION = "opt_out_confirmation"
# What an opted-out number may still be sent: the confirmation of its STOP, and the answer to HELP
# (carriers require both).
TO_OPTED_OUT = frozenset({OPT_OUT_CONFIRMATION, "help"})
LOCK_RECIPIENTS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(:keys) AS k").bindparams(
    bindparam("keys", type_=ARRAY(BigInteger))
)


@dataclass(frozen=True)
class Hold:
    """Not now: the row's new status, when to try again, and why."""

    status: str
    next_attempt_at: datetime | None = None
    error: str | None = None


OPTED_OUT = Hold("opted_out", error="the number has opted out of texts")


async def decide(
    session: AsyncSession, settings: Settings, rows: list[OutboxMessage], now: datetime
) -> dict[uuid.UUID, Hold]:
    """The rows that must not go now, by id; every other row may be sent, in the order given."""
    held: dict[uuid.UUID, Hold] = {}
    opted = await opt_outs.opted_out_among(
        session, {(row.tenant_id, row.recipient) for row in rows if row.kind not in TO_OPTED_OUT}
    )
    for row in rows:
        if row.kind not in TO_OPTED_OUT and (row.tenant_id, row.recipient) in opted:
            held[row.id] = OPTED_OUT
    # Only texts that quiet hours may hold need their clinic's settings (urgent ones and answers
    # never wait for the night to end).
    tenants = {
        tenant_id: await tenants_service.get_context(session, tenant_id)
        for tenant_id in {row.tenant_id for row in rows if _may_be_quiet(row) and row.id not in held}
    }
    limited, quiet = [], {}
    for row in rows:
        if row.id in held or row.kind in ANSWERS:
            continue
        if _may_be_quiet(row) and (until := _quiet_until(tenants[row.tenant_id], row, now)) is not None:
            quiet[row.id] = (row, until)
        else:
            limited.append(row)
    if quiet:
        held.update(await _for_quiet_hours(session, tenants, list(quiet.values()), now))
    if limited:
        held.update(await _over_limit(session, settings, limited, {row.id for row in rows}, now))
    return held


async def _for_quiet_hours(
    session: AsyncSession,
    tenants: dict[uuid.UUID, TenantContext],
    quiet: list[tuple[OutboxMessage, datetime]],
    now: datetime,
) -> dict[uuid.UUID, Hold]:
    """Held until the patient's quiet hours end, with the reason on the row; but a message about a
    visit that comes before then is not held past it: it is skipped, and the row says why."""
    visits = await appointment_lists.starts_of(
        session, {row.appointment_id for row, _ in quiet if row.appointment_id is not None}
    )
    held = {}
    for row, until in quiet:
        tenant = tenants[row.tenant_id]
        window = f"{tenant.settings.quiet_hours_start:%H:%M}-{tenant.settings.quiet_hours_end:%H:%M}"
        zone = ZoneInfo(row.recipient_timezone)
        ends = f"{until.astimezone(zone):%a %H:%M} {row.recipient_timezone}"
        visit = visits.get(row.appointment_id) if row.appointment_id is not None else None
        if visit is not None and now < visit <= until:
            at = f"{visit.astimezone(zone):%a %H:%M}"
            reason = f"skipped: quiet hours ({window}) for the patient end {ends}, past the visit ({at})"
            held[row.id] = Hold("suppressed", error=reason)
        else:
            held[row.id] = Hold("pending", until, f"held for quiet hours ({window}) until {ends}")
    return held


def _may_be_quiet(row: OutboxMessage) -> bool:
    return not row.urgent and row.kind not in ANSWERS


def _quiet_until(tenant: TenantContext, row: OutboxMessage, now: datetime) -> datetime | None:
    quiet = tenant.settings
    return quiet_until(now, row.recipient_timezone, quiet.quiet_hours_start, quiet.quiet_hours_end)


async def _over_limit(
    session: AsyncSession, settings: Settings, rows: list[OutboxMessage], batch: set[uuid.UUID], now: datetime
) -> dict[uuid.UUID, Hold]:
    numbers = {(row.tenant_id, row.recipient) for row in rows}
    await session.execute(LOCK_RECIPIENTS, {"keys": sorted(recipient_lock(t, r) for t, r in numbers)})
    window = timedelta(minutes=settings.sms_rate_limit_window_minutes)
    recent = await session.execute(
        select(
            OutboxMessage.tenant_id,
            OutboxMessage.recipient,
            func.count(),
            func.min(OutboxMessage.last_attempt_at),
        )
        .where(
            tuple_(OutboxMessage.tenant_id, OutboxMessage.recipient).in_(sorted(numbers)),
            OutboxMessage.channel == "sms",
            OutboxMessage.status.in_(("sending", "sent")),
            OutboxMessage.last_attempt_at > now - window,
            OutboxMessage.id.not_in(batch),
        )
        .group_by(OutboxMessage.tenant_id, OutboxMessage.recipient)
    )
    sent: dict[tuple[uuid.UUID, str], tuple[int, datetime]] = {
        (t, r): (n, oldest) for t, r, n, oldest in recent
    }
    limit, minutes = settings.sms_rate_limit_count, settings.sms_rate_limit_window_minutes
    held = {}
    for row in rows:
        key = (row.tenant_id, row.recipient)
        count, oldest = sent.get(key, (0, now))
        if count >= limit:
            held[row.id] = Hold("rate_limited", oldest + window, f"over {limit} texts in {minutes} min")
        else:
            sent[key] = (count + 1, oldest)  # this one goes: the next text to the number counts it
    return held


def recipient_lock(tenant_id: uuid.UUID, recipient: str) -> int:
    digest = hashlib.blake2b(f"{tenant_id}:sms:{recipient}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
