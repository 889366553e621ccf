"""A text provider that keeps failing: its circuit opens, and each clinic with texts waiting on it
hears once (a `provider.paused` event and an e-mail to its owners); when it answers again, a
`provider.resumed` event, and the texts go."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.support.db import rows
from tests.support.messaging import daytime, outbox_of, provider_outage


async def test_clinics_hear_when_their_text_provider_is_paused_and_when_it_resumes(db, make_tenant, settings):
    owner = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    tenant = await make_tenant(
        settings={"min_lead_minutes": 0, "max_days_ahead": 400, "alert_email": "ops@clinic.example"},
        owner={"email": owner, "name": "Olive Owner"},
    )
    now = daytime()
    async with provider_outage(db, settings, tenant.id, now, 4) as outage:
        twilio, dispatcher, numbers = outage.twilio, outage.dispatcher, outage.numbers
        await dispatcher.drain(now + timedelta(seconds=601))  # a probe fails: still paused, not told again
        twilio.outage_requests = 0
        await dispatcher.drain(now + timedelta(seconds=1300))  # the probe succeeds, the rest go

    events = await rows(
        db,
        "SELECT type, data FROM domain_events WHERE tenant_id = :t AND type LIKE 'provider.%' ORDER BY id",
        t=tenant.id,
    )
    assert [e["type"] for e in events] == ["provider.paused", "provider.resumed"]
    assert events[0]["data"]["provider"] == "twilio" and events[0]["data"]["waiting"] == 4
    mails = await outbox_of(db, tenant.id, kind="provider_paused")
    assert sorted(m["recipient"] for m in mails) == sorted(["ops@clinic.example", owner])
    assert "paused" in mails[0]["subject"] and "4 of your clinic's texts" in mails[0]["body"]
    # Each text once (the dispatcher is shared: rows other tests left behind may go too).
    assert sorted(m.to for m in twilio.messages if m.to in numbers) == sorted(numbers)
