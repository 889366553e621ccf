"""What every calendar service's client answers with, and the two ways it can fail."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteCalendar:
    external_id: str
    name: str
    # The account's own calendar (Google names it by the account's address).
    primary: bool = False


class CalendarBroken(Exception):
    """The connection cannot work until someone acts: a revoked grant, a wrong password, a deleted
    calendar. Shown to staff and alerted; not retried on its own."""


class CalendarAddressRefused(CalendarBroken):
    """The server, or somewhere it sent us, is on a network this server may not reach."""


class CalendarUnavailable(Exception):
    """The service failed this time (a 5xx, a timeout): retried."""
