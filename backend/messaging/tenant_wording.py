"""Messages in a tenant's own wording, rendered after the transaction that queued them.

A booking (or a worker action) queues its messages in the profile's wording; where the tenant has
their own template for the kind and channel, the row is `rendering` and carries the values the
template needs. Here the worker takes such rows (a short lease, so two workers do not render the
same row and a dead worker's rows come back), renders the tenant's template in a confined child
process with no transaction open, and moves each row on to `pending`: in the tenant's wording, or,
if their template failed or was stopped at a limit, still in the profile's, with the reason kept
on the row (`template_fallback`), audited and logged without the patient's details. Either way the
patient gets the message.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller
from backend.core.db import Database
from backend.messaging import message_templates
from backend.messaging.models import OutboxMessage
from backend.messaging.outbox import RENDERING
from backend.messaging.template_processes import TemplateProcesses
from backend.messaging.template_rules import TemplateRefused
from backend.tenants import service as tenants
from channels.segments import count_segments

log = logging.getLogger("frontdesk.worker")

WORKER = "worker"
BATCH_SIZE = 20
# Longer than any render can take (a child is killed well before): a row still `rendering` after
# this belongs to a worker that died, and is taken again.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    channel: str
    subject: str | None  # the profile's wording, as queued
    body: str
    context: dict[str, Any]
    sources: dict[str, str]  # part -> the tenant's template


@dataclass(frozen=True)
class Worded:
    job: Job
    subject: str | None
    body: str
    fallback: str | None  # why the profile's wording stayed


class TenantWording:
    def __init__(self, db: Database, processes: TemplateProcesses) -> None:
        self.db = db
        self.processes = processes

    async def render_due(self, now: datetime) -> int:
        """Reword the rows waiting for it, a batch at a time; how many were done."""
        done = 0
        while jobs := await self.db.transaction(lambda session: _take(session, now)):
            worded = await asyncio.gather(*(self._word(job) for job in jobs))
            await self.db.transaction(lambda session, worded=worded: _release(session, worded, now))
            done += len(jobs)
        return done

    async def _word(self, job: Job) -> Worded:
        if not job.sources:  # the tenant went back to the profile's wording meanwhile
            return Worded(job, job.subject, job.body, None)
        try:
            texts = await self.processes.render(job.sources, job.context)
        except TemplateRefused as refusal:
            return Worded(job, job.subject, job.body, refusal.reason)
        except Exception as error:  # the patient gets the message whatever went wrong here
            log.exception("rendering a tenant template failed")
            reason = f"the template could not be rendered ({type(error).__name__})"
            return Worded(job, job.subject, job.body, reason)
        subject, body = message_templates.reworded(job.channel, job.subject, job.body, texts)
        if not body.strip() or (job.channel == "email" and not (subject or "").strip()):
            return Worded(job, job.subject, job.body, "the template renders to nothing")
        return Worded(job, subject, body, None)


_DUE = (
    select(OutboxMessage.id)
    .where(OutboxMessage.status == RENDERING, OutboxMessage.next_attempt_at <= bindparam("now"))
    .order_by(OutboxMessage.next_attempt_at)
    .limit(BATCH_SIZE)
    .with_for_update(skip_locked=True)
)


async def _take(session: AsyncSession, now: datetime) -> list[Job]:
    rows = (
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(_DUE.scalar_subquery()))
            .values(next_attempt_at=now + LEASE)
            .returning(
                OutboxMessage.id,
                OutboxMessage.tenant_id,
                OutboxMessage.kind,
                OutboxMessage.channel,
                OutboxMessage.subject,
                OutboxMessage.body,
                OutboxMessage.render_context,
            ),
            {"now": now},
        )
    ).all()
    jobs = []
    sources: dict[tuple[uuid.UUID, str], dict[str, str]] = {}
    for row_id, tenant_id, kind, channel, subject, body, context in rows:
        if (tenant_id, kind) not in sources:
            sources[tenant_id, kind] = await message_templates.overrides_for(session, tenant_id, kind)
        overrides = sources[tenant_id, kind]
        # The tenant's current wording (they may have changed or removed it since the row was queued).
        wanted = {part: overrides[part] for part in message_templates.parts_of(channel) if part in overrides}
        jobs.append(Job(row_id, tenant_id, kind, channel, subject, body, context or {}, wanted))
    return jobs


async def _release(session: AsyncSession, worded: list[Worded], now: datetime) -> None:
    for result in worded:
        job = result.job
        moved = await session.execute(
            update(OutboxMessage)
            # Only a row still waiting for its wording: a cancelled or suppressed one stays so.
            .where(OutboxMessage.id == job.id, OutboxMessage.status == RENDERING)
            .values(
                status="pending",
                subject=result.subject,
                body=result.body,
                segments=count_segments(result.body).segments if job.channel == "sms" else None,
                render_context=None,
                template_fallback=result.fallback,
                next_attempt_at=now,
            )
        )
        if result.fallback is None or not moved.rowcount:  # type: ignore[attr-defined]
            continue
        log.warning(
            "tenant %s: its %s template was not used for message %s (%s); the profile's wording went",
            job.tenant_id,
            job.kind,
            job.id,
            result.fallback,
        )
        caller = Caller(await tenants.get_context(session, job.tenant_id), WORKER, f"message:{job.id}")
        audit.record(
            session,
            caller,
            "message_template.fallback",
            "message",
            job.id,
            {"kind": job.kind, "channel": job.channel, "template_fallback": result.fallback},
        )
