"""Live updates of conversations, pushed to whoever watches them: the patient's widget (the
conversation's room) and the clinic's inbox (the tenant's staff room); and whether anyone of the
clinic's staff is watching at all.

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

    async def staff_online(self, tenant_id: uuid.UUID) -> bool | None:
        """Whether a member of the tenant's staff has the workspace open now; None if unknown."""
        ...


class Unwatched:
    """Nobody to tell (a process with no Socket.IO reach, a unit test)."""

    async def to_patient(self, conversation_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        return None

    async def to_staff(self, tenant_id: uuid.UUID, event: str, data: dict[str, Any]) -> None:
        return None

    async def staff_online(self, tenant_id: uuid.UUID) -> bool | None:
        return None  # this process cannot see the workspaces: it does not know
