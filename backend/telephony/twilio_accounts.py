"""A clinic's own Twilio account: set or rotated in one call, sealed with the key ring like calendar
credentials (bound to the tenant's row), used to verify its numbers' webhooks and to send its texts.
Clinics without one use the platform's account. The auth token is never returned, logged or audited.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection

from sqlalchemy import delete, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.context import Caller
from backend.core.crypto import KeyRing, KeyRingError
from backend.core.errors import NotFound
from backend.messaging.senders import ProviderAccount
from backend.telephony.models import TenantPhoneNumber, TenantTwilioAccount


def _context(tenant_id: uuid.UUID) -> str:
    return TenantTwilioAccount(tenant_id=tenant_id).secret_context


log = logging.getLogger(__name__)


async def put(
    session: AsyncSession, caller: Caller, ring: KeyRing, account_sid: str, auth_token: str
) -> TenantTwilioAccount:
    """The clinic's account set, or its token rotated: in effect for the next webhook and text."""
    tenant_id = caller.tenant.id
    sealed = ring.seal(auth_token, _context(tenant_id))
    inserted = await session.scalar(
        insert(TenantTwilioAccount)
        .values(tenant_id=tenant_id, account_sid=account_sid, auth_token_sealed=sealed)
        .on_conflict_do_update(
            index_elements=[TenantTwilioAccount.tenant_id],
            set_={"account_sid": account_sid, "auth_token_sealed": sealed, "updated_at": func.now()},
        )
        .returning(literal_column("xmax = 0"))  # PostgreSQL: true for a new row, false for an update
    )
    action = "twilio_account.set" if inserted else "twilio_account.rotated"
    audit.record(session, caller, action, "tenant", tenant_id, {"account_sid": account_sid})
    return await session.get_one(TenantTwilioAccount, tenant_id, populate_existing=True)


async def get(session: AsyncSession, tenant_id: uuid.UUID) -> TenantTwilioAccount:
    row = await session.get(TenantTwilioAccount, tenant_id)
    if row is None:
        raise NotFound("this clinic uses the platform's Twilio account")
    return row


async def remove(session: AsyncSession, caller: Caller) -> None:
    """Back to the platform's account."""
    removed = await session.execute(
        delete(TenantTwilioAccount)
        .where(TenantTwilioAccount.tenant_id == caller.tenant.id)
        .returning(TenantTwilioAccount.account_sid)
    )
    account_sid = removed.scalar_one_or_none()
    if account_sid is None:
        raise NotFound("this clinic uses the platform's Twilio account")
    audit.record(
        session, caller, "twilio_account.removed", "tenant", caller.tenant.id, {"account_sid": account_sid}
    )


async def for_number(session: AsyncSession, ring: KeyRing, number: str) -> ProviderAccount | None:
    """The own account of the clinic a number belongs to; None: the platform's (or nobody's) number.
    Raises KeyRingError when the clinic's token does not open (a key removed from the ring)."""
    row = await session.scalar(
        select(TenantTwilioAccount)
        .join(TenantPhoneNumber, TenantPhoneNumber.tenant_id == TenantTwilioAccount.tenant_id)
        .where(TenantPhoneNumber.number == number)
    )
    return _opened(ring, row) if row is not None else None


async def for_tenants(
    session: AsyncSession, ring: KeyRing, tenant_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ProviderAccount]:
    """The clinics among these that have their own account, with its credentials."""
    if not tenant_ids:
        return {}
    rows = await session.scalars(
        select(TenantTwilioAccount).where(TenantTwilioAccount.tenant_id.in_(set(tenant_ids)))
    )
    opened = {}
    for row in rows:
        try:
            opened[row.tenant_id] = _opened(ring, row)
        except KeyRingError:  # one clinic's unreadable token must not stop every clinic's texts
            log.error("the Twilio auth token of tenant %s does not open with SECRETS_KEYS", row.tenant_id)
    return opened


async def reseal_all(session: AsyncSession, ring: KeyRing) -> int:
    """`frontdesk rekey`: every clinic's auth token sealed again under the current key; how many."""
    changed = 0
    for row in await session.scalars(select(TenantTwilioAccount).with_for_update()):
        resealed = ring.resealed(row.auth_token_sealed, row.secret_context)
        if resealed is not None:
            row.auth_token_sealed = resealed
            changed += 1
    return changed


def _opened(ring: KeyRing, row: TenantTwilioAccount) -> ProviderAccount:
    return ProviderAccount(row.account_sid, ring.open(row.auth_token_sealed, row.secret_context))
