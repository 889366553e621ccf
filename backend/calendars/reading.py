"""Reading a calendar's changes into busy time: what the service says changed, turned into items
(external events) and their busy ranges, before any database work.

Everything here runs in a thread: the clients are synchronous, and expanding recurrences is CPU.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from backend.calendars import busy_time
from backend.calendars.accounts import Account
from backend.calendars.caldav_account import CalDavAccount
from backend.calendars.google_account import SyncTokenExpired

log = logging.getLogger("frontdesk.calendars")

Range = tuple[datetime, datetime]


@dataclass
class ItemUpdate:
    key: str
    etag: str | None
    ranges: list[Range]
    shape: str | None = None
    recurring: bool = False


@dataclass
class Batch:
    """One calendar's changes. `complete`: the updates name every event the calendar has."""

    sync_token: str | None
    updates: dict[str, ItemUpdate] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    complete: bool = False
    unreadable: int = 0


def read_changes(
    account: Account, calendar_id: str, sync_token: str | None, who: str, window: Range, tz: ZoneInfo
) -> Batch:
    if isinstance(account, CalDavAccount):
        return _read_caldav(account, calendar_id, sync_token, who, window, tz)
    try:
        changes = account.changes(calendar_id, sync_token, window[0])
    except SyncTokenExpired:
        log.info("Google sync token expired for a calendar; reading it in full")
        changes = account.changes(calendar_id, None, window[0])
    batch = Batch(sync_token=changes.sync_token, complete=changes.complete)
    for event in changes.events:
        busy = busy_time.google_range(event, tz)
        if busy is None:
            batch.deleted.add(event["id"])
        else:
            batch.updates[event["id"]] = ItemUpdate(event["id"], event.get("etag"), [busy])
    return batch


def _read_caldav(
    account: CalDavAccount, calendar_url: str, sync_token: str | None, who: str, window: Range, tz: ZoneInfo
) -> Batch:
    changes = account.changes(calendar_url, sync_token)
    batch = Batch(
        sync_token=changes.sync_token,
        deleted={unquote(href) for href in changes.deleted},
        complete=changes.complete,
    )
    for href, (etag, ics) in changes.changed.items():
        key = unquote(href)
        try:
            shaped = busy_time.busy_shape(ics, who)
        except busy_time.UnreadableEvent:
            batch.unreadable += 1
            continue
        if shaped is None:
            batch.deleted.add(key)
            continue
        # Only a recurring event is ever expanded again, so only its shape is kept.
        ranges = busy_time.expand(shaped.calendar, window, tz)
        text = shaped.text if shaped.recurring else None
        batch.updates[key] = ItemUpdate(key, etag, ranges, text, shaped.recurring)
    if batch.unreadable:
        log.warning("skipped %d calendar resources that are not valid iCalendar", batch.unreadable)
    return batch


def expand_again(shapes: dict[int, str], window: Range, tz: ZoneInfo) -> dict[int, list[Range]]:
    """Recurring events' ranges over a window that has moved on (the days ahead keep coming)."""
    return {item_id: busy_time.expand(shape, window, tz) for item_id, shape in shapes.items()}
