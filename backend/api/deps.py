"""Request dependencies: the clock, the database, and who is calling."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from backend.db import Database
from backend.errors import Forbidden, Unauthorized
from backend.services import api_keys
from backend.services.context import Caller, TenantContext
from backend.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="A tenant secret key: `Authorization: Bearer sk_live_…`")
_admin_header = APIKeyHeader(name="X-Admin-Secret", auto_error=False, description="The server's ADMIN_SECRET")


def current_time() -> datetime:
    return datetime.now(UTC)


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def correlation_id(request: Request) -> str:
    return request.state.correlation_id


Now = Annotated[datetime, Depends(current_time)]
Db = Annotated[Database, Depends(get_db)]
CorrelationId = Annotated[str, Depends(correlation_id)]


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


async def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    secret: Annotated[str | None, Depends(_admin_header)],
) -> None:
    expected = settings.admin_secret.get_secret_value() if settings.admin_secret else None
    if not secret:
        raise Unauthorized("missing admin secret: send the 'X-Admin-Secret' header")
    if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise Unauthorized("invalid admin secret")


TenantCaller = Annotated[Caller, Depends(tenant_caller)]
Admin = Depends(require_admin)
