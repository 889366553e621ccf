"""A CalDAV account through the `caldav` library: discovery of the calendar home and its
calendars, changes since the last sync (RFC 6578 sync-collection, or the library's etag comparison
where a server has no sync tokens), and writing our bookings as events.

The library is synchronous; callers run these methods in a thread (`asyncio.to_thread`).

A clinic types the server's address, so, like a webhook's, it could name our own network. Unless
any address may be reached (development), every connection the library opens, to the address
typed, a redirect's target or a URL the server's answers name, resolves through `GuardedResolver`,
which refuses private, loopback and link-local addresses (the rule webhooks use, `events.targets`)
outside the networks CALENDAR_PRIVATE_NETWORKS allows; the addresses checked are the ones connected
to, so a name that resolves differently at the next sync (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import caldav
import niquests
from caldav.lib import error as dav_error
from lxml import etree
from niquests.packages.urllib3.contrib.resolver.system import SystemResolver

from backend.calendars.remote import (
    CalendarAddressRefused,
    CalendarBroken,
    CalendarUnavailable,
    RemoteCalendar,
)
from backend.events import targets

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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


class TargetRefusedError(socket.gaierror):
    """A name resolution the guard refused: the HTTP library reports it as a failed connection."""


class GuardedResolver(SystemResolver):
    """The system resolver, refusing every answer that is neither public nor in `allowed`."""

    def __init__(self, allowed: Sequence[IPNetwork] = ()) -> None:
        super().__init__()
        self.allowed = tuple(allowed)

    def getaddrinfo(self, host: bytes | str | None, *args: Any, **kwargs: Any) -> list:
        found = super().getaddrinfo(host, *args, **kwargs)
        name = host.decode() if isinstance(host, bytes) else str(host)
        for *_, socket_address in found:
            address = ipaddress.ip_address(str(socket_address[0]).split("%")[0])
            if not targets.is_public(address) and not any(address in net for net in self.allowed):
                raise TargetRefusedError(
                    f"{name} is a private, loopback or link-local address ({address}); refused"
                )
        return found


class CalDavAccount:
    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        timeout: int = TIMEOUT_SECONDS,
        *,
        private_networks: Sequence[IPNetwork] | None = (),
    ) -> None:
        """`private_networks`: the private networks it may reach besides public addresses (None:
        any address, unguarded)."""
        # No DNS-based discovery (SRV records could name any host): the address typed is the server.
        self._client = caldav.DAVClient(
            url=url, username=username, password=password, timeout=timeout, enable_rfc6764=False
        )
        self._client.session.close()
        self._client.session = niquests.Session(
            resolver=None if private_networks is None else GuardedResolver(private_networks)
        )
        # No proxy or .netrc from the environment: the guard must see the real target.
        self._client.session.trust_env = False

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


def _refused_target(problem: BaseException | None) -> TargetRefusedError | None:
    """The guard's refusal, if that is what failed (the HTTP library wraps it three times)."""
    seen = 0
    while problem is not None and seen < 10:
        if isinstance(problem, TargetRefusedError):
            return problem
        problem, seen = problem.__cause__ or problem.__context__, seen + 1
    return None


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Wrong credentials mean a broken connection staff must fix; anything else is worth a retry."""
    try:
        yield
    except dav_error.AuthorizationError as problem:
        raise CalendarBroken("the calendar server refused the username or app password") from problem
    except dav_error.NotFoundError as problem:
        raise CalendarBroken("the calendar is no longer on the server") from problem
    # The HTTP library's errors (refused, timed out) are OSErrors.
    except (dav_error.DAVError, OSError) as problem:
        refused = _refused_target(problem)
        if refused is not None:
            raise CalendarAddressRefused(
                f"{refused}; a calendar server must be on a public address"
            ) from None
        raise CalendarUnavailable(
            f"the calendar server did not answer properly ({problem})"[:300]
        ) from problem
    # A server that answers something other than WebDAV XML (a plain 200 to PROPFIND) fails the
    # library's parsing in any of these ways: whichever it was, that was not a CalDAV answer.
    except (ValueError, LookupError, AttributeError, TypeError, etree.LxmlError) as problem:
        raise CalendarUnavailable(
            "the server answered, but not as a CalDAV server does; check that this is the CalDAV address"
        ) from problem
