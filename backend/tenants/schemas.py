"""Shapes of the tenants API: creating a tenant, its settings, API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from backend.core.schemas import EMAIL_PATTERN, Input, Name, Origin, Output, Slug, TenantSettings, Timezone
from backend.scheduling.schemas import ClosureIn, ProviderIn, ProviderOut, ServiceIn, ServiceOut


class OwnerIn(Input):
    """The clinic's first owner: invited by e-mail to choose a password."""

    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
    name: Name


class TenantCreate(Input):
    name: Name
    slug: Slug
    timezone: Timezone
    profile: Literal["healthcare", "salon", "legal", "general"] = "healthcare"
    settings: TenantSettings = Field(default_factory=TenantSettings)
    providers: list[ProviderIn] = Field(min_length=1, max_length=200)
    services: list[ServiceIn] = Field(min_length=1, max_length=500)
    closures: list[ClosureIn] = Field(default_factory=list, max_length=500)
    owner: OwnerIn | None = Field(default=None, description="The first owner of the workspace")

    @model_validator(mode="after")
    def _consistent_names(self) -> TenantCreate:
        provider_names = [p.name for p in self.providers]
        if len(set(provider_names)) != len(provider_names):
            raise ValueError("provider names must be unique")
        service_names = [s.name for s in self.services]
        if len(set(service_names)) != len(service_names):
            raise ValueError("service names must be unique")
        known = set(provider_names)
        for service in self.services:
            unknown = [name for name in service.providers if name not in known]
            if unknown:
                raise ValueError(f"service {service.name!r} names unknown providers: {', '.join(unknown)}")
        for closure in self.closures:
            if closure.provider is not None and closure.provider not in known:
                raise ValueError(f"closure names unknown provider {closure.provider!r}")
        return self


class ApiKeyCreate(Input):
    kind: Literal["secret", "publishable"]
    name: str = Field(default="", max_length=100)
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _origins_for_publishable(self) -> ApiKeyCreate:
        if self.kind == "publishable" and not self.allowed_origins:
            raise ValueError("a publishable key needs at least one allowed origin")
        if self.kind == "secret" and self.allowed_origins:
            raise ValueError("allowed_origins only applies to publishable keys")
        return self


class TenantOut(Output):
    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    profile: str
    settings: TenantSettings


class ApiKeyOut(Output):
    id: uuid.UUID
    kind: str
    name: str
    prefix: str
    masked: str
    allowed_origins: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key. Shown once: only its hash is stored.")


class TenantCreated(Output):
    tenant: TenantOut
    providers: list[ProviderOut]
    services: list[ServiceOut]
    api_key: ApiKeyCreated
    owner_invite_url: str | None = Field(
        default=None, description="The owner's one-time link to choose a password (also e-mailed to them)"
    )


class TenantSettingsPatch(Input):
    """Settings to change; the others keep their values. The merged result is validated as a whole."""

    settings: dict[str, object] = Field(min_length=1)


class TenantProfilePatch(Input):
    name: Name | None = None
    timezone: Timezone | None = None


StaffRole = Literal["owner", "staff"]


class StaffInvite(Input):
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
    name: Name
    role: StaffRole = "staff"


class StaffPatch(Input):
    role: StaffRole


class StaffOut(Output):
    id: uuid.UUID
    email: str
    name: str
    role: StaffRole
    invited: bool = Field(description="True until they have chosen a password")
    two_factor: bool = Field(description="Whether they sign in with a second factor (TOTP)")
    last_login_at: datetime | None
    created_at: datetime
