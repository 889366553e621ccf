"""The inbox's live connection: Socket.IO namespace `/staff`, one room per clinic; each connection
counts as a member of staff online (presence.py) while it lasts.

A browser joins with its workspace session cookie. The page must come from this server (the
Origin must match the Host): a session cookie alone would otherwise let any site's script listen
in on the clinic's conversations.
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


def register(sio: socketio.AsyncServer, db: Database, settings: Settings, presence: StaffPresence) -> None:
    @sio.on("connect", namespace=STAFF_NAMESPACE)
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not same_origin(environ):
            raise socketio.exceptions.ConnectionRefusedError("the inbox only connects from its own pages")
        token = _cookie(environ)
        signed = (
            await db.transaction(lambda session: sessions.signed_in(session, settings, token, current_time()))
            if token
            else None
        )
        if signed is None:
            raise socketio.exceptions.ConnectionRefusedError("sign in to the workspace first")
        await sio.enter_room(sid, staff_room(signed.tenant.id), namespace=STAFF_NAMESPACE)
        await presence.arrived(sid, signed.tenant.id)

    @sio.on("disconnect", namespace=STAFF_NAMESPACE)
    async def disconnect(sid: str, *_: Any) -> None:
        await presence.left(sid)
