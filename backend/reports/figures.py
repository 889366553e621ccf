"""The clinic's figures, each one SQL statement over the tables the domains already keep.

Reports own no table and write nothing: they read across domains (appointments, conversations and
their messages, the outbox, domain events) in SQL, because a figure is an aggregate a service
function per domain could only compute by shipping every row. A day is the clinic's day: rows are
bucketed by their local date in the tenant's time zone, and a range runs from local midnight of its
first day to local midnight after its last.

Every figure is a `Table`: column names and rows of plain values, the same for the JSON API, the CSV
download, the chart and the table behind it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import TenantContext

# Bookings by channel: a conversation's channel, else who booked.
CHANNELS = ("web", "sms", "voice", "staff", "api", "waitlist", "system")


@dataclass(frozen=True)
class Period:
    tenant: TenantContext
    first_day: date
    last_day: date
    provider_id: uuid.UUID | None = None

    def params(self) -> dict[str, Any]:
        zone = self.tenant.timezone
        return {
            "tenant": self.tenant.id,
            "tz": self.tenant.timezone_name,
            "since": datetime.combine(self.first_day, time(0), zone),
            "until": datetime.combine(self.last_day + timedelta(days=1), time(0), zone),
            "provider": self.provider_id,
        }


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


BOOKINGS = """
SELECT (a.created_at AT TIME ZONE :tz)::date AS day,
       CASE WHEN a.booked_via = 'conversation' THEN coalesce(c.channel, 'web')
            ELSE coalesce(a.booked_via, 'system') END AS channel,
       CASE WHEN a.booked_via = 'staff' THEN 'person'
            WHEN a.booked_via <> 'conversation' OR a.booked_via IS NULL THEN 'other'
            WHEN EXISTS (SELECT 1 FROM conversation_messages m
                          WHERE m.conversation_id = a.conversation_id AND m.role = 'staff'
                            AND m.created_at <= a.created_at) THEN 'person'
            ELSE 'receptionist' END AS finished_by,
       count(*) AS bookings
  FROM appointments a LEFT JOIN conversations c ON c.id = a.conversation_id
 WHERE a.tenant_id = :tenant AND a.created_at >= :since AND a.created_at < :until
   AND (CAST(:provider AS uuid) IS NULL OR a.provider_id = CAST(:provider AS uuid))
 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""

# Reminded: an appointment in the range that a reminder was sent for. Confirmed by: the channel of
# the patient's confirmation ("none" while unconfirmed).
CONFIRMATIONS = """
SELECT coalesce(a.confirmed_via, 'none') AS replied_by, count(*) AS appointments
  FROM appointments a
 WHERE a.tenant_id = :tenant AND a.starts_at >= :since AND a.starts_at < :until
   AND (CAST(:provider AS uuid) IS NULL OR a.provider_id = CAST(:provider AS uuid))
   AND a.status <> 'cancelled'
   AND EXISTS (SELECT 1 FROM notification_outbox o
                WHERE o.appointment_id = a.id AND o.kind = 'reminder' AND o.status = 'sent')
 GROUP BY 1 ORDER BY 1
"""

# Per local week (Monday first) of the visit: visits due, no-shows, cancellations within 24 hours of
# the start (the last change of a cancelled row is its cancellation).
ATTENDANCE = """
SELECT date_trunc('week', a.starts_at AT TIME ZONE :tz)::date AS week,
       count(*) FILTER (WHERE a.status <> 'cancelled') AS due,
       count(*) FILTER (WHERE a.status = 'no_show') AS no_shows,
       count(*) FILTER (WHERE a.status = 'cancelled' AND a.updated_at > a.starts_at - interval '24 hours')
         AS late_cancellations,
       count(*) AS booked,
       CAST(round(100.0 * count(*) FILTER (WHERE a.status = 'no_show')
             / nullif(count(*) FILTER (WHERE a.status <> 'cancelled'), 0), 1) AS float8) AS no_show_rate,
       CAST(round(100.0 * count(*) FILTER (WHERE a.status = 'cancelled'
                                        AND a.updated_at > a.starts_at - interval '24 hours')
             / count(*), 1) AS float8) AS late_cancellation_rate
  FROM appointments a
 WHERE a.tenant_id = :tenant AND a.starts_at >= :since AND a.starts_at < :until
   AND (CAST(:provider AS uuid) IS NULL OR a.provider_id = CAST(:provider AS uuid))
 GROUP BY 1 ORDER BY 1
"""

# A rebooking counts for a no-show follow-up within 30 days of it, a booking for a hold follow-up
# within 7 days.
RECOVERED = """
SELECT 'waitlist offers accepted' AS kind, count(*) AS slots
  FROM appointments a
 WHERE a.tenant_id = :tenant AND a.booked_via = 'waitlist'
   AND a.created_at >= :since AND a.created_at < :until
   AND (CAST(:provider AS uuid) IS NULL OR a.provider_id = CAST(:provider AS uuid))
UNION ALL
SELECT 'no-show follow-ups rebooked', count(DISTINCT o.id)
  FROM notification_outbox o
  JOIN appointments a ON a.tenant_id = o.tenant_id AND a.customer_id = o.customer_id
   AND a.created_at > o.created_at AND a.created_at < o.created_at + interval '30 days'
 WHERE o.tenant_id = :tenant AND o.kind = 'no_show' AND o.status = 'sent'
   AND o.created_at >= :since AND o.created_at < :until
   AND (CAST(:provider AS uuid) IS NULL OR a.provider_id = CAST(:provider AS uuid))
UNION ALL
SELECT 'hold follow-ups completed', count(DISTINCT o.id)
  FROM notification_outbox o
  JOIN customers p ON p.tenant_id = o.tenant_id
   AND ((o.channel = 'sms' AND p.phone = o.recipient)
        OR (o.channel = 'email' AND lower(p.email) = lower(o.recipient)))
  JOIN appointments a ON a.tenant_id = o.tenant_id AND a.customer_id = p.id
   AND a.created_at > o.created_at AND a.created_at < o.created_at + interval '7 days'
 WHERE o.tenant_id = :tenant AND o.kind = 'follow_up' AND o.status = 'sent'
   AND o.created_at >= :since AND o.created_at < :until
   AND (CAST(:provider AS uuid) IS NULL OR a.provider_id = CAST(:provider AS uuid))
"""

# What became of the messages queued each day: delivered (the provider said so), sent (not yet
# confirmed delivered), failed, withheld (opted out, suppressed by consent, rules or a cancel), and
# waiting (pending, retrying, held for quiet hours or a rate limit).
MESSAGES = """
SELECT (o.created_at AT TIME ZONE :tz)::date AS day,
       CASE WHEN o.delivery_status = 'delivered' THEN 'delivered'
            WHEN o.status IN ('failed', 'permanently_failed')
              OR o.delivery_status IN ('failed', 'undelivered') THEN 'failed'
            WHEN o.status = 'sent' THEN 'sent'
            WHEN o.status IN ('opted_out', 'suppressed', 'cancelled') THEN 'withheld'
            ELSE 'waiting' END AS outcome,
       count(*) AS messages
  FROM notification_outbox o
 WHERE o.tenant_id = :tenant AND o.created_at >= :since AND o.created_at < :until
 GROUP BY 1, 2 ORDER BY 1, 2
"""

# From a patient's first message in a conversation to the booking it made; and conversations
# handed to a person (taken over by staff), per day.
SPEED = """
WITH booked AS (
  SELECT a.created_at - (SELECT min(m.created_at) FROM conversation_messages m
                          WHERE m.conversation_id = a.conversation_id AND m.role = 'patient') AS took
    FROM appointments a
   WHERE a.tenant_id = :tenant AND a.booked_via = 'conversation' AND a.conversation_id IS NOT NULL
     AND a.created_at >= :since AND a.created_at < :until
   AND (CAST(:provider AS uuid) IS NULL OR a.provider_id = CAST(:provider AS uuid))
)
-- numeric, not float8: the counts below share the column and stay whole numbers (2, not 2.0).
SELECT 'median minutes to book' AS figure,
       round(CAST(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY took)) / 60 AS numeric), 1)
  FROM booked WHERE took IS NOT NULL
UNION ALL
SELECT 'conversation bookings', count(*) FROM booked
UNION ALL
SELECT 'conversations handed to a person', count(DISTINCT e.entity_id)
  FROM domain_events e
 WHERE e.tenant_id = :tenant AND e.type = 'conversation.taken_over'
   AND e.occurred_at >= :since AND e.occurred_at < :until
"""


def _plain(value: Any) -> Any:
    """A SQL numeric as the number a person reads: 2, not 2.0 or Decimal('2'); 4.5 as 4.5."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


async def _run(session: AsyncSession, sql: str, period: Period, columns: tuple[str, ...]) -> Table:
    result = await session.execute(text(sql), period.params())
    return Table(columns, [tuple(_plain(value) for value in row) for row in result.all()])


def _figure(sql: str, *columns: str) -> Callable[[AsyncSession, Period], Coroutine[Any, Any, Table]]:
    async def figure(session: AsyncSession, period: Period) -> Table:
        return await _run(session, sql, period, columns)

    return figure


FIGURES: dict[str, tuple[str, Callable[[AsyncSession, Period], Coroutine[Any, Any, Table]]]] = {
    "bookings": (
        "Bookings per day, by channel and by who finished them",
        _figure(BOOKINGS, "day", "channel", "finished_by", "bookings"),
    ),
    "confirmations": (
        "Reminded appointments, by how the patient confirmed",
        _figure(CONFIRMATIONS, "replied_by", "appointments"),
    ),
    "attendance": (
        "No-shows and late cancellations, per week",
        _figure(
            ATTENDANCE,
            "week",
            "due",
            "no_shows",
            "late_cancellations",
            "booked",
            "no_show_rate",
            "late_cancellation_rate",
        ),
    ),
    "recovered": ("Slots recovered", _figure(RECOVERED, "kind", "slots")),
    "messages": ("Messages per day, by what became of them", _figure(MESSAGES, "day", "outcome", "messages")),
    "speed": ("Time to a booking, and conversations handed to a person", _figure(SPEED, "figure", "value")),
}
