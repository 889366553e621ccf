"""Who is calling the API: a tenant's secret key, as a request dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.core.context import Caller, TenantContext
from backend.core.deps import CorrelationId, Db, Now
from backend.core.errors import Forbidden, Unauthorized
from backend.tenants import api_keys

_bearer = HTTPBearer(auto_error=False, description="A tenant secret key: `Authorization: Bearer sk_live_…`")


async def tenant_caller(
    db: Db,
    now: Now,
    correlation: CorrelationId,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer sk_live_…'")
    found = await db.transaction(lambda session: api_keys.authenticate(session, credentials.credentials, now))
    if found is None:
        raise Unauthorized("invalid or revoked API key")
    key, tenant = found
    if key.kind != "secret":
        raise Forbidden("publishable keys only work with the chat widget; use a secret key for the API")
    return Caller(tenant=TenantContext.of(tenant), actor=f"key:{key.prefix}", correlation_id=correlation)


TenantCaller = Annotated[Caller, Depends(tenant_caller)]
