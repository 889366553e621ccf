"""Opening a stored connection as a client of its calendar service."""

from __future__ import annotations

from backend.calendars.caldav_account import CalDavAccount
from backend.calendars.google_account import GoogleAccount
from backend.calendars.models import CalendarConnection
from backend.calendars.remote import CalendarBroken
from backend.core.crypto import KeyRing, KeyRingError
from backend.core.settings import Settings

Account = CalDavAccount | GoogleAccount


def open_account(settings: Settings, ring: KeyRing, connection: CalendarConnection) -> Account:
    try:
        secret = ring.open(connection.secret_sealed, connection.secret_context)
    except KeyRingError as problem:
        raise CalendarBroken(f"the stored credentials cannot be opened ({problem})") from problem
    if connection.kind == "google":
        if not settings.google_enabled:
            raise CalendarBroken("Google Calendar is not configured on this server (GOOGLE_CLIENT_ID)")
        return GoogleAccount(settings, secret, connection.scopes)
    assert connection.server_url is not None
    return CalDavAccount(
        connection.server_url,
        connection.account,
        secret,
        settings.calendar_timeout_seconds,
        private_networks=settings.calendar_reachable_private_networks,
    )
