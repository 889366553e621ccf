"""Tenants' rows to response models."""

from __future__ import annotations

from backend.core.context import TenantContext
from backend.tenants.api_keys import IssuedKey, masked
from backend.tenants.models import ApiKey
from backend.tenants.schemas import ApiKeyCreated, ApiKeyOut, TenantOut


def tenant_out(tenant: TenantContext) -> TenantOut:
    return TenantOut(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        timezone=tenant.timezone_name,
        profile=tenant.profile,
        settings=tenant.settings,
    )


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        kind=key.kind,
        name=key.name,
        prefix=key.prefix,
        masked=masked(key),
        allowed_origins=list(key.allowed_origins),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def key_created(issued: IssuedKey) -> ApiKeyCreated:
    return ApiKeyCreated(**key_out(issued.row).model_dump(), key=issued.key)
