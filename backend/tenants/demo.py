"""The demo tenant that `make run` serves: a dental clinic in New York, with its FAQ."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.context import Caller
from backend.core.db import Database
from backend.faq import service as faq
from backend.faq.demo import DEMO_FAQ
from backend.tenants import api_keys, sign_in_guard, staff
from backend.tenants import service as tenants
from backend.tenants.schemas import TenantCreate

DEMO_SLUG = "demo-dental"
DEMO_OWNER_EMAIL = "owner@demo-dental.example"

_WEEKDAY_HOURS = [
    {"weekday": day, "opens_at": opens, "closes_at": closes}
    for day in ("mon", "tue", "wed", "thu", "fri")
    for opens, closes in (("09:00", "12:00"), ("13:00", "17:00"))  # lunch 12-13
]

DEMO_TENANT = TenantCreate.model_validate(
    {
        "name": "Bright Smile Dental",
        "slug": DEMO_SLUG,
        "timezone": "America/New_York",
        "profile": "healthcare",
        "providers": [
            {"name": "Dr. Maya Chen", "kind": "person", "hours": _WEEKDAY_HOURS},
            {"name": "Sam Rivera, RDH", "kind": "person", "hours": _WEEKDAY_HOURS},
        ],
        "services": [
            {
                "name": "Check-up",
                "description": "Exam with the dentist",
                "aliases": ["checkup", "check up", "exam", "examination"],
                "duration_minutes": 30,
                "buffer_minutes": 5,
                "providers": ["Dr. Maya Chen"],
            },
            {
                "name": "Dental cleaning",
                "description": "Cleaning and polish with the hygienist",
                "aliases": ["cleaning", "teeth cleaning", "hygiene", "scale and polish"],
                "duration_minutes": 60,
                "buffer_minutes": 10,
                "providers": ["Sam Rivera, RDH"],
            },
            {
                "name": "Filling",
                "description": "Tooth filling",
                "aliases": ["cavity", "tooth filling"],
                "duration_minutes": 90,
                "buffer_minutes": 15,
                "providers": ["Dr. Maya Chen"],
            },
        ],
    }
)


@dataclass(frozen=True)
class DemoTenant:
    name: str
    created: bool
    api_key: str
    widget_key: str
    owner_email: str


async def seed(
    db: Database,
    remembered_key: str,
    remembered_widget_key: str,
    origins: list[str],
    owner_password: str,
    *,
    new_password: bool = False,
) -> DemoTenant:
    """Create the demo tenant once; on later runs reuse it and the remembered keys if they still work.

    Only a key's hash is in the database, so the caller keeps the plain demo keys in the
    (git-ignored) data directory; a lost or revoked one is replaced by a fresh key. The widget key
    must allow `origins` (where the demo page is served); one that does not is replaced too. The
    demo owner signs in to the workspace with `owner_password`, set when the owner is made, and
    again when the caller had lost the remembered one (`new_password`).
    """
    now = datetime.now(UTC)

    async def work(session: AsyncSession) -> DemoTenant:
        tenant = await tenants.get_by_slug(session, DEMO_SLUG)
        created = tenant is None
        if tenant is None:
            made = await tenants.create_tenant(session, DEMO_TENANT, "system:demo-seed", "demo-seed")
            tenant_id, name, api_key = made.tenant.id, made.tenant.name, made.api_key.key
            caller = Caller(await tenants.get_context(session, tenant_id), "system:demo-seed", "demo-seed")
            await faq.seed(session, caller, DEMO_FAQ)
        else:
            tenant_id, name = tenant.id, tenant.name
            api_key = remembered_key if await _still_valid(session, remembered_key, "secret", [], now) else ""
            api_key = api_key or (await api_keys.issue(session, tenant_id, "secret", "demo key")).key
        widget_key = (
            remembered_widget_key
            if await _still_valid(session, remembered_widget_key, "publishable", origins, now)
            else (await api_keys.issue(session, tenant_id, "publishable", "demo widget", origins)).key
        )
        await _demo_owner(session, tenant_id, owner_password, new_password)
        return DemoTenant(name, created, api_key, widget_key, DEMO_OWNER_EMAIL)

    return await db.transaction(work)


async def _demo_owner(session: AsyncSession, tenant_id: uuid.UUID, password: str, new_password: bool) -> None:
    owner = await staff.by_email(session, DEMO_OWNER_EMAIL)
    if owner is None:
        caller = Caller(await tenants.get_context(session, tenant_id), "system:demo-seed", "demo-seed")
        await staff.create_owner(session, caller, DEMO_OWNER_EMAIL, "Dana Demo", password)
    elif new_password:
        owner.password_hash = staff.passwords.hash(password)
        await sign_in_guard.forget(session, owner.email)


async def _still_valid(session: AsyncSession, key: str, kind: str, origins: list[str], now: datetime) -> bool:
    found = await api_keys.authenticate(session, key, now) if key else None
    if found is None:
        return False
    row, _ = found
    return row.kind == kind and set(origins) <= set(row.allowed_origins)
