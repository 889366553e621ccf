"""A CalDAV account through the `caldav` library: discovery of the calendar home and its
calendars, changes since the last sync (RFC 6578 sync-collection, or the library's etag comparison
where a server has no sync tokens), and writing our bookings as events.

The library is synchronous; callers run these methods in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import caldav
from caldav.lib import error as dav_error
from lxml import etree

from backend.calendars.remote import CalendarBroken, CalendarUnavailable, RemoteCalendar

TIMEOUT_SECONDS = 20

# The library logs the text of events it had to repair: provider's meeting titles and attendees.
logging.getLogger("caldav").setLevel(logging.ERROR)
MULTIGET_CHUNK = 200


@dataclass
class Changes:
    """What changed in one calendar. A full listing (`complete`) names every resource there is, so
    anything we knew and it lacks was deleted."""

    sync_token: str | None
    changed: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # href -> (etag, ics)
    deleted: set[str] = field(default_factory=set)
    complete: bool = False


class CalDavAccount:
    def __init__(self, url: str, username: str, password: str, timeout: int = TIMEOUT_SECONDS) -> None:
        self._client = caldav.DAVClient(url=url, username=username, password=password, timeout=timeout)

    def calendars(self) -> list[RemoteCalendar]:
        """The event calendars in the account's calendar home (found from the principal)."""
        with _translated_errors():
            found = self._client.principal().calendars()
            return [
                RemoteCalendar(external_id=str(calendar.url), name=calendar.get_display_name() or "Calendar")
                for calendar in found
                if _holds_events(calendar)
            ]

    def changes(self, calendar_url: str, sync_token: str | None) -> Changes:
        with _translated_errors():
            calendar = self._client.calendar(url=calendar_url)
            if sync_token and not sync_token.startswith("fake-"):
                try:
                    found = calendar.get_objects_by_sync_token(sync_token=sync_token, disable_fallback=True)
                except (dav_error.ReportError, dav_error.DAVError) as problem:
                    if isinstance(problem, dav_error.AuthorizationError) and not _expired_token(problem):
                        raise
                    found = None  # the token expired, or the server stopped offering sync: read it all
                if found is not None:
                    deleted = {str(url) for url in found.deleted_urls}
                    live = [obj for obj in found if str(obj.url) not in deleted]
                    return Changes(
                        sync_token=found.sync_token,
                        changed=self._load(calendar, live),
                        deleted=deleted,
                    )
            everything = calendar.get_objects_by_sync_token(sync_token=sync_token)
            if sync_token and everything.sync_token == sync_token and not list(everything):
                return Changes(sync_token=sync_token)  # the etag comparison found nothing new
            return Changes(
                sync_token=everything.sync_token,
                changed=self._load(calendar, list(everything)),
                complete=True,
            )

    def put(self, calendar_url: str, uid: str, ics: str) -> str:
        """Write the event (create or overwrite: the same UID is the same resource); its href."""
        with _translated_errors():
            calendar = self._client.calendar(url=calendar_url)
            href = f"{str(calendar.url).rstrip('/')}/{uid}.ics"
            self._client.put(href, ics, {"Content-Type": "text/calendar; charset=utf-8"})
            return href

    def delete(self, href: str) -> None:
        with _translated_errors():
            response = self._client.delete(href)
            if response.status not in (200, 204, 404, 410):
                raise CalendarUnavailable(f"the server answered {response.status} to a delete")

    def _load(self, calendar: caldav.Calendar, objects: list[caldav.CalendarObjectResource]) -> dict:
        loaded: dict[str, tuple[str | None, str]] = {}
        for start in range(0, len(objects), MULTIGET_CHUNK):
            chunk = [obj.url for obj in objects[start : start + MULTIGET_CHUNK]]
            for obj in calendar.multiget(chunk):
                if obj.data:
                    loaded[str(obj.url)] = (obj.props.get("{DAV:}getetag"), obj.data)
        return loaded


def _holds_events(calendar: caldav.Calendar) -> bool:
    try:
        components = calendar.get_supported_components()
    except dav_error.DAVError:
        return True
    return not components or "VEVENT" in components


def _expired_token(problem: dav_error.DAVError) -> bool:
    return "valid-sync-token" in str(getattr(problem, "preconditions", "") or problem)


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Wrong credentials mean a broken connection staff must fix; anything else is worth a retry."""
    try:
        yield
    except dav_error.AuthorizationError as problem:
        raise CalendarBroken("the calendar server refused the username or app password") from problem
    except dav_error.NotFoundError as problem:
        raise CalendarBroken("the calendar is no longer on the server") from problem
    # The HTTP library's errors (refused, timed out) are OSErrors; a server that answers something
    # other than WebDAV XML fails the library's parsing.
    except (dav_error.DAVError, OSError, ValueError, etree.LxmlError) as problem:
        raise CalendarUnavailable(
            f"the calendar server did not answer properly ({problem})"[:300]
        ) from problem
