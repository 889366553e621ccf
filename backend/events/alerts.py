"""Switching off an endpoint that has failed for days, and telling the clinic.

Its queued deliveries stay where they are and resume if it is enabled again; events that happen
while it is off are not queued for it (a time-range replay sends them afterwards).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.context import Caller
from backend.core.event_catalogue import WebhookEndpointDisabled
from backend.events.models import WebhookEndpoint
from backend.messaging import outbox
from backend.tenants import service as tenants
from backend.tenants import staff

WORKER = "worker"


def shown_url(url: str) -> str:
    """The URL without its query: integrators sometimes put a token there, and alerts are e-mail."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def disable_failing(
    session: AsyncSession, endpoint: WebhookEndpoint, last_error: str, now: datetime
) -> None:
    assert endpoint.failing_since is not None
    tenant = await tenants.get_context(session, endpoint.tenant_id)
    caller = Caller(tenant, WORKER, f"webhook:{endpoint.id}")
    since = endpoint.failing_since
    endpoint.enabled = False
    endpoint.disabled_reason = f"failing since {since.isoformat(timespec='minutes')}: {last_error}"[:500]
    audit.record(
        session,
        caller,
        "webhook_endpoint.disabled",
        "webhook_endpoint",
        endpoint.id,
        {"reason": endpoint.disabled_reason},
    )
    events.emit(
        session, caller, WebhookEndpointDisabled(webhook_endpoint_id=endpoint.id, failing_since=since)
    )
    url = shown_url(endpoint.url)
    for recipient in await staff.alert_recipients(session, tenant):
        await _alert(session, caller, endpoint, recipient, url, last_error, now)


async def _alert(
    session: AsyncSession,
    caller: Caller,
    endpoint: WebhookEndpoint,
    recipient: str,
    url: str,
    last_error: str,
    now: datetime,
) -> None:
    tenant, since = caller.tenant, endpoint.failing_since
    assert since is not None
    await outbox.enqueue(
        session,
        caller,
        outbox.NewMessage(
            kind="webhook_disabled",
            channel="email",
            recipient=recipient,
            subject=f"{tenant.name}: a webhook endpoint was switched off",
            body=(
                f"Frontdesk could not deliver events to {url} since "
                f"{since.astimezone(tenant.timezone):%A %d %B %Y, %H:%M} "
                "and has switched the endpoint off.\n\n"
                f"Last error: {last_error}\n\n"
                "Events that happen while it is off are not sent to it. Once the receiver works again, "
                "switch the endpoint on again and replay the time it was off: in the workspace under "
                "Settings, Numbers, keys, team, webhooks, or with the API "
                f"(POST /api/v1/webhook-endpoints/{endpoint.id}/replay)."
            ),
            dedupe_key=f"webhook_disabled:{endpoint.id}:{since.isoformat()}:{recipient}",
            urgent=True,
        ),
        now,
    )
