"""Live updates through Socket.IO: the patient's widget (its conversation's room on `/`) and the
clinic's inboxes (the tenant's room on `/staff`).

In the API process the emitter is the Socket.IO server itself; in the worker it is a write-only
Redis manager. Either way the Redis manager carries the event to whichever API process holds the
browser's connection.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from backend.webchat.presence import StaffPresence
from channels.webchat import room

log = logging.getLogger(__name__)

STAFF_NAMESPACE = "/staff"


def staff_room(tenant_id: uuid.UUID | str) -> str:
    return f"staff:{tenant_id}"


class Emitter(Protocol):
    async def emit(
        self, event: str, data: Any, *, namespace: str | None = None, room: str | None = None
    ) -> Any: ...


class SocketLive:
    def __init__(self, emitter: Emitter | None = None, presence: StaffPresence | None = None) -> None:
        self.emitter = emitter
        self.presence = presence

    def attach(self, emitter: Emitter) -> None:
        """The server is built after the turn runner that reports through it."""
        self.emitter = emitter

    async def to_patient(self, conversation_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        await self._emit(event, data, "/", room(str(conversation_id)))

    async def to_staff(self, tenant_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        await self._emit(event, data, STAFF_NAMESPACE, staff_room(tenant_id))

    async def staff_online(self, tenant_id: uuid.UUID) -> bool | None:
        return await self.presence.online(tenant_id) if self.presence is not None else None

    async def _emit(self, event: str, data: dict[str, Any], namespace: str, target: str) -> None:
        if self.emitter is None:
            return
        try:
            await self.emitter.emit(event, data, namespace=namespace, room=target)
        except Exception:  # a live update is a courtesy: the stored message is what counts
            log.warning("could not push %s to %s", event, target, exc_info=True)
