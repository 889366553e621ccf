"""Staff's view of the receptionist's conversations: who asked for a person, and what was said."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from backend.conversations import service as conversations
from backend.conversations.schemas import ChatMessageOut, ConversationOut
from backend.core.deps import Db
from backend.tenants.deps import TenantCaller

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


@router.get("", response_model=list[ConversationOut])
async def list_conversations(
    caller: TenantCaller,
    db: Db,
    status: Annotated[Literal["open", "needs_human", "closed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ConversationOut]:
    """Most recently active first; `status=needs_human` lists the patients waiting for a person."""

    async def work(session: AsyncSession) -> list[ConversationOut]:
        found = await conversations.list_for_tenant(session, caller.tenant, status, limit)
        return [ConversationOut.model_validate(c) for c in found]

    return await db.transaction(work)


@router.get("/{conversation_id}/messages", response_model=list[ChatMessageOut])
async def conversation_messages(
    conversation_id: uuid.UUID,
    caller: TenantCaller,
    db: Db,
    after: Annotated[int, Query(ge=0)] = 0,
) -> list[ChatMessageOut]:
    async def work(session: AsyncSession) -> list[ChatMessageOut]:
        await conversations.get(session, caller.tenant, conversation_id)
        messages = await conversations.messages_after(session, caller.tenant, conversation_id, after)
        return [ChatMessageOut.model_validate(m.event()) for m in messages]

    return await db.transaction(work)
