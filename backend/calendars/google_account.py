"""A Google account's calendars through Google's API client (`googleapiclient`) and `google-auth`,
which refreshes the access token from the stored refresh token.

Reads use `events.list` with `singleEvents` (Google expands recurring events, exceptions
included): a full read from a day ago, then `syncToken` reads of what changed; a 410 answer means
the token is gone and the next read is full again. Writes use our appointment id as the event id,
so a retried insert finds its own event instead of making a second one.

The client is synchronous; callers run these methods in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import google.auth.exceptions
import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from backend.calendars.remote import CalendarBroken, CalendarUnavailable, RemoteCalendar
from backend.core.network_problems import plain_reason
from backend.core.settings import Settings

READ_SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
WRITE_SCOPE = "https://www.googleapis.com/auth/calendar.events"
TIMEOUT_SECONDS = 20
PAGE_SIZE = 2500

# The discovery client logs every request URL at INFO, with the sync token in it.
logging.getLogger("googleapiclient.discovery").setLevel(logging.WARNING)


class SyncTokenExpired(Exception):
    """Google answered 410: read the calendar in full again."""


@dataclass
class GoogleChanges:
    sync_token: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False


class GoogleAccount:
    def __init__(self, settings: Settings, refresh_token: str, scopes: list[str]) -> None:
        assert settings.google_client_secret is not None
        self._credentials = Credentials(
            token=None,
            refresh_token=refresh_token,
            token_uri=settings.google_token_url,
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            scopes=scopes,
        )
        http = AuthorizedHttp(self._credentials, http=httplib2.Http(timeout=TIMEOUT_SECONDS))
        self._api = build(
            "calendar",
            "v3",
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": settings.google_calendar_api_url},
        )

    def calendars(self) -> list[RemoteCalendar]:
        with _translated_errors():
            found: list[RemoteCalendar] = []
            page: str | None = None
            while True:
                answer = self._api.calendarList().list(pageToken=page, minAccessRole="reader").execute()
                found += [
                    RemoteCalendar(
                        external_id=item["id"], name=item.get("summaryOverride") or item["summary"]
                    )
                    for item in answer.get("items", [])
                ]
                page = answer.get("nextPageToken")
                if not page:
                    return found

    def changes(self, calendar_id: str, sync_token: str | None, since: datetime) -> GoogleChanges:
        """Events changed since `sync_token`, or every event from `since` on without one."""
        with _translated_errors():
            query: dict[str, Any] = {"calendarId": calendar_id, "singleEvents": True, "maxResults": PAGE_SIZE}
            if sync_token:
                query["syncToken"] = sync_token
            else:
                query["timeMin"] = since.isoformat()
            changes = GoogleChanges(sync_token=None, complete=not sync_token)
            while True:
                try:
                    answer = self._api.events().list(**query).execute()
                except HttpError as problem:
                    if problem.resp.status == 410:
                        raise SyncTokenExpired() from problem
                    raise
                changes.events += answer.get("items", [])
                if "nextPageToken" not in answer:
                    changes.sync_token = answer.get("nextSyncToken")
                    return changes
                query["pageToken"] = answer["nextPageToken"]

    def put_event(self, calendar_id: str, event_id: str, body: dict[str, Any]) -> None:
        """Create the event, or overwrite it when it exists (a retry, a reschedule)."""
        with _translated_errors():
            try:
                self._api.events().update(calendarId=calendar_id, eventId=event_id, body=body).execute()
            except HttpError as problem:
                if problem.resp.status not in (404, 410):
                    raise
                self._api.events().insert(calendarId=calendar_id, body={**body, "id": event_id}).execute()

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        with _translated_errors():
            try:
                self._api.events().delete(calendarId=calendar_id, eventId=event_id).execute()
            except HttpError as problem:
                if problem.resp.status not in (404, 410):
                    raise

    def watch(self, calendar_id: str, channel_id: str, token: str, address: str) -> dict[str, Any]:
        """Ask Google to call `address` when the calendar changes: {resourceId, expiration (ms)}."""
        with _translated_errors():
            body = {"id": channel_id, "type": "web_hook", "address": address, "token": token}
            return self._api.events().watch(calendarId=calendar_id, body=body).execute()

    def stop_watch(self, channel_id: str, resource_id: str) -> None:
        with _translated_errors():
            try:
                self._api.channels().stop(body={"id": channel_id, "resourceId": resource_id}).execute()
            except HttpError as problem:
                if problem.resp.status != 404:
                    raise


@contextmanager
def _translated_errors() -> Iterator[None]:
    try:
        yield
    except google.auth.exceptions.RefreshError as problem:
        raise CalendarBroken(
            "Google no longer accepts this connection (access revoked or expired)"
        ) from problem
    except HttpError as problem:
        status = problem.resp.status
        if status in (401, 403, 404):
            raise CalendarBroken(f"Google refused the request ({status}): {_reason(problem)}") from problem
        raise CalendarUnavailable(f"Google answered {status}: {_reason(problem)}") from problem
    except (httplib2.HttpLib2Error, OSError) as problem:
        raise CalendarUnavailable(plain_reason(problem, "Google")) from problem


def _reason(problem: HttpError) -> str:
    return (problem.reason or "")[:200]
