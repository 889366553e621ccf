"""Who is asking, for which tenant: passed explicitly into every service call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from backend.core.schemas import TenantSettings
from policy.switches import Switches


class TenantRow(Protocol):
    """What a tenant's stored row offers (the tenants domain owns the table)."""

    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    profile: str
    settings: dict[str, Any]
    practice_revision: int


@dataclass(frozen=True)
class TenantContext:
    id: uuid.UUID
    slug: str
    name: str
    timezone_name: str
    profile: str
    settings: TenantSettings
    # What the receptionist is told about the practice, as of this read (see tenants.models).
    practice_revision: int = 0

    @cached_property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone_name)

    @cached_property
    def switches(self) -> Switches:
        """The clinic's switches, as the policy engine reads them."""
        settings = self.settings
        return Switches(
            sms=settings.sms_enabled,
            voice=settings.voice_enabled,
            web_chat=settings.web_chat_enabled,
            language_model=settings.language_model_enabled,
            waitlist=settings.waitlist_enabled,
            self_cancel=settings.patients_may_cancel,
            self_reschedule=settings.patients_may_reschedule,
            automated_paused=settings.automated_messages_paused,
        )

    @classmethod
    def of(cls, tenant: TenantRow) -> TenantContext:
        return cls(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            timezone_name=tenant.timezone,
            profile=tenant.profile,
            settings=TenantSettings.model_validate(tenant.settings),
            practice_revision=tenant.practice_revision or 0,
        )


Role = Literal["owner", "staff"]


@dataclass(frozen=True)
class Caller:
    tenant: TenantContext
    # Written to the audit log: "key:sk_live_Ab12Cd34", "staff:<id>", "admin", "worker",
    # "conversation:<id>", "patient:sms" (backend.tenants.audit_actors names them for people).
    actor: str
    correlation_id: str
    # What the caller may do: a secret key and the system act as an owner; a member of staff as
    # their role says (staff: no keys, team, webhooks or clinic settings).
    role: Role = "owner"
    staff_id: uuid.UUID | None = None
    staff_name: str | None = None
    # A patient's text thread, answered by text: what is done for them there (a booking, a move) is
    # told in the reply, so no second text repeats it to this number.
    texting: str | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"
