"""What the tests of appointments from a clinic's own system share: a row as that system sends it,
the calls, and a look at the events they wrote."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from backend.messaging.actions import ActionRunner
from backend.scheduling import external, external_rows
from backend.scheduling.external_rows import Incoming
from backend.scheduling.external_schemas import ExternalAppointmentIn
from tests.conftest import TenantHandle, iso
from tests.support.db import caller_for, rows

SOURCE = "practice-pms"


def appointment(
    tenant: TenantHandle,
    starts_at: datetime,
    *,
    minutes: int = 30,
    version: int | None = 1,
    provider: str = "Dr. Adams",
    phone: str | None = None,
    name: str = "Pat Imported",
    **extra: Any,
) -> dict[str, Any]:
    """An appointment as the clinic's system sends it (our provider id unless told otherwise)."""
    body: dict[str, Any] = {
        "starts_at": iso(starts_at),
        "ends_at": iso(starts_at + timedelta(minutes=minutes)),
        "provider_id": tenant.providers[provider],
        "customer": {"name": name, **({"phone": phone} if phone else {"email": "pat@example.org"})},
    }
    if version is not None:
        body["version"] = version
    return {**body, **extra}


async def put(
    client: httpx.AsyncClient,
    tenant: TenantHandle,
    external_id: str,
    body: dict[str, Any],
    source: str = SOURCE,
) -> httpx.Response:
    return await client.put(
        f"/api/v1/external-appointments/{source}/{external_id}", json=body, headers=tenant.auth
    )


async def events_of(db, tenant: TenantHandle, prefix: str = "booking.") -> list[dict[str, Any]]:
    found = await rows(
        db,
        "SELECT type, data FROM domain_events WHERE tenant_id = :t AND type LIKE :p ORDER BY id",
        t=tenant.id,
        p=prefix + "%",
    )
    return found


async def upsert_at(
    db, tenant: TenantHandle, external_id: str, body: dict[str, Any], now: datetime, source: str = SOURCE
):
    """The upsert as the API runs it, with the clock set to `now`."""
    caller = await caller_for(db, tenant.id)
    incoming = Incoming(0, source, external_id, ExternalAppointmentIn.model_validate(body))

    async def work(session):
        [spec] = await external_rows.resolve(session, caller.tenant, [incoming])
        assert not isinstance(spec, Exception), spec
        return await external.upsert(session, caller, spec, now)

    return await db.transaction(work, isolation="SERIALIZABLE", gate=external.gate(caller.tenant.id))


async def set_tenant(client: httpx.AsyncClient, tenant: TenantHandle, **settings: Any) -> None:
    response = await client.patch("/api/v1/tenant/settings", json={"settings": settings}, headers=tenant.auth)
    assert response.status_code == 200, response.text


async def run_all_due(runner: ActionRunner, moment: datetime) -> None:
    """Every scheduled action due at `moment`, every tenant's: in a full run other tests leave more
    than one call's batch due before this test's own."""
    while await runner.run_due(moment):
        pass
