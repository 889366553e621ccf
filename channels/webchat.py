"""The web chat channel: a Socket.IO server the embeddable widget talks to.

Connecting needs a publishable key whose allowed origins include the page's Origin; anything else
is refused with the reason, in the Socket.IO `connect_error` the widget shows: `message` says why,
`data` holds the `code` and, for a limit that lifts, `retry_after_seconds`. Every message carries
a server-assigned sequence number: a client that reconnects says the last one it saw ("hello") and
gets what it missed. All tabs of a conversation share a room, so a message typed in one shows in
the others; every connection of a widget key shares another, so revoking the key can end them.

One connection may have at most `max_pending` events (messages, hellos) being answered at a time;
one more is refused at once with RATE_LIMITED and a retry hint, before the backend sees it, so a
script firing thousands of events at one connection makes no work beyond those few.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import socketio

from channels.inbound import InvalidInput, chat_auth, chat_hello, chat_message
from channels.revocations import Revocations

log = logging.getLogger(__name__)

NAMESPACE = "/"
# A layer in front of the server (an address's rate limit) refuses a connection by leaving a
# ChatRefused under this key in the ASGI scope's state: the client then hears why, and when to
# retry, in its connect_error, instead of an empty 403 on the WebSocket handshake.
REFUSAL = "chat_refusal"
# A refused event may be sent again once one of the connection's events is answered.
PENDING_RETRY_SECONDS = 1


@dataclass(frozen=True)
class ChatSession:
    tenant_id: str
    conversation_id: str
    token: str
    key_id: str | None = None  # the publishable key it was opened with (none for a hand-off link)


class ChatRefused(Exception):
    """Why a connection is refused (shown to the visitor); `retry_after` seconds for a limit that lifts."""

    def __init__(self, reason: str, *, code: str = "FORBIDDEN", retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.retry_after = retry_after

    def connect_error(self) -> socketio.exceptions.ConnectionRefusedError:
        data: dict[str, Any] = {"code": self.code}
        if self.retry_after is not None:
            data["retry_after_seconds"] = self.retry_after
        return socketio.exceptions.ConnectionRefusedError(str(self), data)


class ChatInputError(Exception):
    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


class ChatBackend(Protocol):
    async def open_session(self, key: str, origin: str, token: str | None, address: str) -> ChatSession:
        """The conversation for this key, origin and resume token (a new one without a valid token),
        for a visitor at `address`.

        Raises ChatRefused with the reason when the key or the origin is not acceptable, or when
        a limit says no for now.
        """
        ...

    async def history(self, session: ChatSession, after_seq: int) -> list[dict[str, Any]]: ...

    async def greeting(self, session: ChatSession) -> dict[str, Any]:
        """What the widget shows a conversation with nothing in it yet: `text` and `quick_replies`
        (the clinic's menu, as its switches allow)."""
        ...

    def admit(self, session: ChatSession) -> None:
        """Raises ChatInputError, at once and without any storage, for a message of this
        conversation that cannot be taken now (too many waiting, over its rate)."""
        ...

    async def send(
        self, session: ChatSession, text: str, choice: str | None, client_message_id: str | None
    ) -> list[dict[str, Any]]:
        """Store the message and answer it; returns the stored message and the replies, as events.

        Raises ChatInputError for a message that cannot be accepted (empty, too long, busy).
        """
        ...


def refused_in_front(environ: dict[str, Any]) -> None:
    """Refuse the connection (ConnectionRefusedError) if a layer in front already has (REFUSAL)."""
    refused = (environ.get("asgi.scope") or {}).get("state", {}).get(REFUSAL)
    if isinstance(refused, ChatRefused):
        raise refused.connect_error()


def room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def key_room(key_id: str) -> str:
    """The room of every connection opened with a widget key (named as its revocation is announced)."""
    return f"key:{key_id}"


def create_server(
    backend: ChatBackend,
    client_manager: socketio.AsyncManager | None = None,
    *,
    max_pending: int = 3,
    revocations: Revocations | None = None,
) -> socketio.AsyncServer:
    # Origins are checked per key in `connect`, so Engine.IO's own same-origin check is off.
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins="*",
        client_manager=client_manager,
        logger=False,
        engineio_logger=False,
    )
    revocations = revocations or Revocations()
    revocations.serve(sio)

    pending: dict[str, int] = {}

    def capped(handler: Callable[[str, Any], Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(handler)
        async def within_cap(sid: str, data: Any = None) -> dict[str, Any]:
            if pending.get(sid, 0) >= max_pending:
                return _error(
                    "RATE_LIMITED",
                    f"at most {max_pending} messages can wait for an answer; send again once one is answered",
                    PENDING_RETRY_SECONDS,
                )
            pending[sid] = pending.get(sid, 0) + 1
            try:
                return await handler(sid, data)
            finally:
                pending[sid] -= 1
                if not pending[sid]:
                    del pending[sid]

        return within_cap

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        refused_in_front(environ)
        scope = environ.get("asgi.scope") or {}
        origin = environ.get("HTTP_ORIGIN", "")
        if not isinstance(auth, dict) or not auth.get("key"):
            raise ChatRefused(
                "missing widget key: set data-key on the widget's script tag", code="UNAUTHORIZED"
            ).connect_error()
        try:
            credentials = chat_auth(auth)
        except InvalidInput as invalid:
            raise ChatRefused(str(invalid), code="VALIDATION_ERROR").connect_error() from None
        address = (scope.get("client") or ("",))[0]
        checked_at = revocations.clock()
        try:
            session = await backend.open_session(credentials.key, origin, credentials.token, address)
        except ChatRefused as refusal:
            raise refusal.connect_error() from None
        await sio.save_session(sid, {"chat": session})
        rooms = [room(session.conversation_id)] + ([key_room(session.key_id)] if session.key_id else [])
        if not await revocations.join(sid, NAMESPACE, rooms, checked_at):
            raise ChatRefused("unknown or revoked widget key", code="UNAUTHORIZED").connect_error()

    @sio.event
    @capped
    async def hello(sid: str, data: Any = None) -> dict[str, Any]:
        """The client's first event after connecting: its resume token and what it missed."""
        session = await _session(sio, sid)
        try:
            after = chat_hello(data).last_seq
        except InvalidInput as invalid:
            return _error("VALIDATION_ERROR", f"{invalid.field}: {invalid.message}")
        messages = await backend.history(session, after)
        greeting = await backend.greeting(session) if after == 0 and not messages else None
        return {"token": session.token, "messages": messages, "greeting": greeting}

    @sio.event
    @capped
    async def message(sid: str, data: Any = None) -> dict[str, Any]:
        session = await _session(sio, sid)
        # The same contract as the HTTP fallback, checked before anything reads the words.
        try:
            incoming = chat_message(data)
        except InvalidInput as invalid:
            return _error("VALIDATION_ERROR", f"{invalid.field}: {invalid.message}")
        try:
            backend.admit(session)
        except ChatInputError as problem:
            return _error(problem.code, problem.message, problem.retry_after)
        target = room(session.conversation_id)
        await sio.emit("typing", {"on": True}, room=target)
        try:
            events = await backend.send(session, incoming.text, incoming.choice, incoming.client_message_id)
        except ChatInputError as problem:
            await sio.emit("typing", {"on": False}, room=target)
            return _error(problem.code, problem.message, problem.retry_after)
        for event in events:
            await sio.emit("message", event, room=target)
        await sio.emit("typing", {"on": False}, room=target)
        return {"ok": True, "seq": events[0]["seq"] if events else None}

    return sio


async def _session(sio: socketio.AsyncServer, sid: str) -> ChatSession:
    return (await sio.get_session(sid))["chat"]


def _error(code: str, message: str, retry_after: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if retry_after is not None:
        error["retry_after_seconds"] = retry_after
    return {"ok": False, "error": error}
