"""The fan-out: every enabled endpoint follows the tenant's event stream with a cursor of its own,
and each event its filter wants becomes a delivery row.

Reading stops at the horizon (core/events.py), so an event whose transaction commits late is
found on a later pass instead of being passed over; the unique (endpoint, event) index makes a
pass that runs twice, or on two workers, queue each delivery once. Endpoints are locked with SKIP
LOCKED, so two workers fan out different endpoints rather than wait for each other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import events

_DUE = text(
    """
    SELECT e.id FROM webhook_endpoints e
    WHERE e.enabled AND EXISTS (
        SELECT 1 FROM domain_events ev
        WHERE ev.tenant_id = e.tenant_id
          AND ev.xid < frontdesk_xid8(:final)
          AND (ev.xid, ev.id) > (frontdesk_xid8(e.cursor_xid), e.cursor_id))
    FOR UPDATE SKIP LOCKED
    """
)

# Read each endpoint's next events, queue those its filter wants, and report per endpoint how far
# it read (the last event) and how many it read (a full batch means there is more).
_FAN_OUT = text(
    """
    WITH picked AS (
        SELECT e.id AS endpoint_id, e.tenant_id, ev.id AS event_id, ev.type,
               ev.xid::text::bigint AS xid,
               (cardinality(e.event_types) = 0 OR ev.type = ANY(e.event_types)
                OR split_part(ev.type, '.', 1) || '.*' = ANY(e.event_types)) AS wanted
        FROM webhook_endpoints e
        CROSS JOIN LATERAL (
            SELECT id, type, xid FROM domain_events ev
            WHERE ev.tenant_id = e.tenant_id
              AND ev.xid < frontdesk_xid8(:final)
              AND (ev.xid, ev.id) > (frontdesk_xid8(e.cursor_xid), e.cursor_id)
            ORDER BY ev.xid, ev.id
            LIMIT :batch
        ) ev
        WHERE e.id = ANY(:endpoints)
    ), queued AS (
        INSERT INTO webhook_deliveries
            (id, tenant_id, endpoint_id, event_id, message_id, event_type, status, attempts, next_attempt_at)
        SELECT gen_random_uuid(), tenant_id, endpoint_id, event_id, 'evt_' || event_id, type,
               'pending', 0, :now
        FROM picked WHERE wanted
        ON CONFLICT (endpoint_id, event_id) WHERE replay_id IS NULL AND event_id IS NOT NULL DO NOTHING
        RETURNING endpoint_id
    )
    SELECT DISTINCT ON (endpoint_id) endpoint_id, xid, event_id,
           count(*) OVER (PARTITION BY endpoint_id) AS read,
           (SELECT count(*) FROM queued) AS queued
    FROM picked
    ORDER BY endpoint_id, xid DESC, event_id DESC
    """
)

_ADVANCE = text(
    """
    UPDATE webhook_endpoints SET cursor_xid = v.xid, cursor_id = v.id
    FROM unnest(CAST(:ids AS uuid[]), CAST(:xids AS bigint[]), CAST(:event_ids AS bigint[]))
         AS v(endpoint, xid, id)
    WHERE webhook_endpoints.id = v.endpoint
    """
)


async def fan_out(session: AsyncSession, now: datetime, batch: int = 1000) -> int:
    """One pass over the endpoints with unread events; the number of deliveries queued."""
    final = await events.horizon(session)
    endpoints = list((await session.execute(_DUE, {"final": final})).scalars())
    if not endpoints:
        return 0
    rows = (
        (
            await session.execute(
                _FAN_OUT, {"final": final, "endpoints": endpoints, "batch": batch, "now": now}
            )
        )
        .mappings()
        .all()
    )
    cursors = []
    for row in rows:
        # A short read reached the horizon: everything final is behind this endpoint now.
        position = (row["xid"], row["event_id"]) if row["read"] >= batch else (final - 1, events.END)
        cursors.append((row["endpoint_id"], *position))
    if cursors:
        ids, xids, event_ids = (list(column) for column in zip(*cursors, strict=True))
        await session.execute(_ADVANCE, {"ids": ids, "xids": xids, "event_ids": event_ids})
    return int(rows[0]["queued"]) if rows else 0
