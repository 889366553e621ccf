"""Telling the clinic about its webhook endpoints: one paused because its receiver keeps failing
(an event and an e-mail to the owners; an event when it resumes), and one switched off after days.

A switched-off endpoint's queued deliveries stay where they are and resume if it is enabled again;
events that happen while it is off are not queued for it (a time-range replay sends them
afterwards).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit, events
from backend.core.context import Caller
from backend.core.event_catalogue import (
    WebhookEndpointDisabled,
    WebhookEndpointPaused,
    WebhookEndpointResumed,
)
from backend.events.models import WebhookEndpoint
from backend.messaging import staff_alerts
from backend.tenants import service as tenants

WORKER = "worker"
WEBHOOK_SETTINGS = "Settings → Numbers, keys, team, webhooks"


def shown_url(url: str) -> str:
    """The URL without its query: integrators sometimes put a token there, and alerts are e-mail."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def paused(session: AsyncSession, endpoint: WebhookEndpoint, last_error: str, now: datetime) -> None:
    """Its circuit has just opened: deliveries wait while it is probed."""
    assert endpoint.failing_since is not None
    caller = await _worker(session, endpoint)
    since = endpoint.failing_since
    events.emit(
        session,
        caller,
        WebhookEndpointPaused(webhook_endpoint_id=endpoint.id, failing_since=since, error=last_error[:500]),
    )
    await staff_alerts.tell_staff(
        session,
        caller,
        kind="webhook_paused",
        subject="a webhook endpoint is paused",
        body=(
            f"Frontdesk cannot deliver events to {shown_url(endpoint.url)} (failing since "
            f"{_local(caller, since)}) and has paused it: its events wait, none is lost. Frontdesk "
            "keeps trying it with one request at a time and resumes by itself, at once, when it "
            f"answers again.\n\nLast error: {last_error}"
        ),
        # At most one e-mail an hour for an endpoint that keeps pausing and resuming.
        dedupe_key=f"webhook_paused:{endpoint.id}:{now:%Y-%m-%dT%H}",
        now=now,
        see=WEBHOOK_SETTINGS,
    )


async def resumed(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    assert endpoint.failing_since is not None
    event = WebhookEndpointResumed(webhook_endpoint_id=endpoint.id, failing_since=endpoint.failing_since)
    events.emit(session, await _worker(session, endpoint), event)


async def disable_failing(
    session: AsyncSession, endpoint: WebhookEndpoint, last_error: str, now: datetime
) -> None:
    assert endpoint.failing_since is not None
    caller = await _worker(session, endpoint)
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
    await staff_alerts.tell_staff(
        session,
        caller,
        kind="webhook_disabled",
        subject="a webhook endpoint was switched off",
        body=(
            f"Frontdesk could not deliver events to {shown_url(endpoint.url)} since "
            f"{_local(caller, since)} and has switched the endpoint off.\n\n"
            f"Last error: {last_error}\n\n"
            "Events that happen while it is off are not sent to it. Once the receiver works again, "
            "enable the endpoint and replay the time it was off (workspace or API: "
            f"POST /api/v1/webhooks/{endpoint.id}/replay)."
        ),
        dedupe_key=f"webhook_disabled:{endpoint.id}:{since.isoformat()}",
        now=now,
        see=WEBHOOK_SETTINGS,
    )


async def _worker(session: AsyncSession, endpoint: WebhookEndpoint) -> Caller:
    tenant = await tenants.get_context(session, endpoint.tenant_id)
    return Caller(tenant, WORKER, f"webhook:{endpoint.id}")


def _local(caller: Caller, at: datetime) -> str:
    return f"{at.astimezone(caller.tenant.timezone):%A %d %B %Y, %H:%M}"
