"""Quiet hours: the nightly window when nothing non-urgent may buzz a patient's phone.

Worked on the recipient's local wall clock. A window whose start is after its end (21:00-08:00)
runs over midnight; equal start and end mean no quiet hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A message moved ahead of the quiet hours goes this long before they begin.
AHEAD_OF_QUIET_HOURS = timedelta(minutes=15)


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


def before_quiet_hours(due: datetime, deadline: datetime, timezone: str, start: time, end: time) -> datetime:
    """When a message due at `due`, about something at `deadline`, should go: at `due`, unless the
    recipient's quiet hours would hold it until after `deadline`; then shortly before they begin."""
    until = quiet_until(due, timezone, start, end)
    if until is None or until < deadline:
        return due
    zone = ZoneInfo(timezone)
    local = due.astimezone(zone)
    began = local.date() if start < end or local.time() >= start else local.date() - timedelta(days=1)
    window = datetime.combine(began, start).replace(tzinfo=zone).astimezone(UTC)
    return window - AHEAD_OF_QUIET_HOURS
