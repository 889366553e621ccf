"""The inbox's live connection: Socket.IO namespace `/staff`, one room per clinic; each connection
counts as a member of staff online (presence.py) while it lasts.

A browser joins with its workspace session cookie. The page must come from this server (the
Origin must match the Host): a session cookie alone would otherwise let any site's script listen
in on the clinic's conversations.

A connection lasts only as long as what let it in: it also joins a room for its session
("session:<id>") and one for its member of staff ("staff:<id>"), and signing out (here or
everywhere), a password reset, removal from the team or a new role disconnects it at once, in
whichever process holds it (channels/revocations.py; the tables' triggers announce each on
`frontdesk_revoked`). The page then reloads: to the sign-in page, or as the new role.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import socketio

from backend.core.db import Database
from backend.core.deps import current_time
from backend.core.settings import Settings
from backend.tenants import sessions
from backend.webchat.live import STAFF_NAMESPACE, staff_room
from backend.webchat.presence import StaffPresence
from channels.revocations import Revocations
from channels.webchat import ChatRefused, refused_in_front


def _cookie(environ: dict[str, Any]) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return None
    morsel = jar.get(sessions.COOKIE)
    return morsel.value if morsel else None


def same_origin(environ: dict[str, Any]) -> bool:
    origin = environ.get("HTTP_ORIGIN", "")
    host = environ.get("HTTP_HOST", "")
    return bool(origin and host) and urlsplit(origin).netloc == host


def register(
    sio: socketio.AsyncServer,
    db: Database,
    settings: Settings,
    revocations: Revocations,
    presence: StaffPresence,
) -> None:
    @sio.on("connect", namespace=STAFF_NAMESPACE)
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        refused_in_front(environ)
        if not same_origin(environ):
            raise ChatRefused("the inbox only connects from its own pages").connect_error()
        token = _cookie(environ)
        checked_at = revocations.clock()
        signed = (
            await db.transaction(lambda session: sessions.signed_in(session, settings, token, current_time()))
            if token
            else None
        )
        if signed is None:
            raise ChatRefused("sign in to the workspace first", code="UNAUTHORIZED").connect_error()
        rooms = [
            staff_room(signed.tenant.id),
            sessions.session_room(signed.session.id),
            sessions.member_room(signed.user.id),
        ]
        if not await revocations.join(sid, STAFF_NAMESPACE, rooms, checked_at):
            raise ChatRefused(
                "signed out: sign in to the workspace again", code="UNAUTHORIZED"
            ).connect_error()
        await presence.arrived(sid, signed.tenant.id)

    @sio.on("disconnect", namespace=STAFF_NAMESPACE)
    async def disconnect(sid: str, *_: Any) -> None:
        await presence.left(sid)
