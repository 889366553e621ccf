"""Quiet hours: the nightly window when nothing non-urgent may buzz a patient's phone.

Worked on the recipient's local wall clock. A window whose start is after its end (21:00-08:00)
runs over midnight; equal start and end mean no quiet hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def is_quiet(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(now: datetime, timezone: str, start: time, end: time) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None if `now` is not in them."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if not is_quiet(local.time(), start, end):
        return None
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    wall = datetime.combine(day, end)
    # If the end falls in a DST gap, the first valid minute after it.
    while wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        wall += timedelta(minutes=1)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
