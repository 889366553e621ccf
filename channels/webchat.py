"""The web chat channel: a Socket.IO server the embeddable widget talks to.

Connecting needs a publishable key whose allowed origins include the page's Origin; anything else
is refused with the reason. Every message carries a server-assigned sequence number: a client that
reconnects says the last one it saw ("hello") and gets what it missed. All tabs of a conversation
share a room, so a message typed in one shows in the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import socketio

from channels.inbound import InvalidInput, chat_auth, chat_hello, chat_message

log = logging.getLogger(__name__)

NAMESPACE = "/"


@dataclass(frozen=True)
class ChatSession:
    tenant_id: str
    conversation_id: str
    token: str


class ChatRefused(Exception):
    pass


class ChatInputError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChatBackend(Protocol):
    async def open_session(self, key: str, origin: str, token: str | None) -> ChatSession:
        """The conversation for this key, origin and resume token (a new one without a valid token).

        Raises ChatRefused with the reason when the key or the origin is not acceptable.
        """
        ...

    async def history(self, session: ChatSession, after_seq: int) -> list[dict[str, Any]]: ...

    async def send(
        self, session: ChatSession, text: str, choice: str | None, client_message_id: str | None
    ) -> list[dict[str, Any]]:
        """Store the message and answer it; returns the stored message and the replies, as events.

        Raises ChatInputError for a message that cannot be accepted (empty, too long, busy).
        """
        ...


def room(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def create_server(
    backend: ChatBackend, client_manager: socketio.AsyncManager | None = None
) -> socketio.AsyncServer:
    # Origins are checked per key in `connect`, so Engine.IO's own same-origin check is off.
    sio = socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins="*",
        client_manager=client_manager,
        logger=False,
        engineio_logger=False,
    )

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        origin = environ.get("HTTP_ORIGIN", "")
        if not isinstance(auth, dict) or not auth.get("key"):
            raise socketio.exceptions.ConnectionRefusedError(
                "missing widget key: set data-key on the widget's script tag"
            )
        try:
            credentials = chat_auth(auth)
        except InvalidInput as invalid:
            raise socketio.exceptions.ConnectionRefusedError(str(invalid)) from None
        try:
            session = await backend.open_session(credentials.key, origin, credentials.token)
        except ChatRefused as refusal:
            raise socketio.exceptions.ConnectionRefusedError(str(refusal)) from None
        await sio.save_session(sid, {"chat": session})
        await sio.enter_room(sid, room(session.conversation_id))

    @sio.event
    async def hello(sid: str, data: Any = None) -> dict[str, Any]:
        """The client's first event after connecting: its resume token and what it missed."""
        session = await _session(sio, sid)
        try:
            after = chat_hello(data).last_seq
        except InvalidInput as invalid:
            return _error("VALIDATION_ERROR", f"{invalid.field}: {invalid.message}")
        return {"token": session.token, "messages": await backend.history(session, after)}

    @sio.event
    async def message(sid: str, data: Any = None) -> dict[str, Any]:
        session = await _session(sio, sid)
        # The same contract as the HTTP fallback, checked before anything reads the words.
        try:
            incoming = chat_message(data)
        except InvalidInput as invalid:
            return _error("VALIDATION_ERROR", f"{invalid.field}: {invalid.message}")
        target = room(session.conversation_id)
        await sio.emit("typing", {"on": True}, room=target)
        try:
            events = await backend.send(session, incoming.text, incoming.choice, incoming.client_message_id)
        except ChatInputError as problem:
            await sio.emit("typing", {"on": False}, room=target)
            return _error(problem.code, problem.message)
        for event in events:
            await sio.emit("message", event, room=target)
        await sio.emit("typing", {"on": False}, room=target)
        return {"ok": True, "seq": events[0]["seq"] if events else None}

    return sio


async def _session(sio: socketio.AsyncServer, sid: str) -> ChatSession:
    return (await sio.get_session(sid))["chat"]


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}
