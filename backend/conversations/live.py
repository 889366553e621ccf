"""Live updates of conversations, pushed to whoever watches them: the patient's widget (the
conversation's room) and the clinic's inbox (the tenant's staff room).

The port is here; the Socket.IO implementation (through the Redis manager, so any process can
push to browsers connected to any other) is wired in by the composition roots.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol


class Live(Protocol):
    async def to_patient(self, conversation_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        """To the widget of this conversation (web chat)."""
        ...

    async def to_staff(self, tenant_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        """To every open inbox of the tenant."""
        ...


class Unwatched:
    """Nobody to tell (a process with no Socket.IO reach, a unit test)."""

    async def to_patient(self, conversation_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        return None

    async def to_staff(self, tenant_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        return None
