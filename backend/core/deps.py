"""Request dependencies every domain uses: the clock, the database, the settings, the correlation id,
the admin secret. Who a tenant's caller is lives with the tenants (`backend.tenants.deps`)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from backend.core.db import Database
from backend.core.errors import Unauthorized
from backend.core.settings import Settings

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
AppSettings = Annotated[Settings, Depends(get_settings)]


async def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    secret: Annotated[str | None, Depends(_admin_header)],
) -> None:
    expected = settings.admin_secret.get_secret_value() if settings.admin_secret else None
    if not secret:
        raise Unauthorized("missing admin secret: send the 'X-Admin-Secret' header")
    if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise Unauthorized("invalid admin secret")


Admin = Depends(require_admin)
