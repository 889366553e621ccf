"""A text provider that keeps failing: its circuit opens, and each clinic with texts waiting on it
hears once (a `provider.paused` event and an e-mail to its owners); when it answers again, a
`provider.resumed` event, and the texts go."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tests.fakes.twilio_server import running_fake_twilio
from tests.support.db import rows
from tests.support.messaging import daytime, dispatcher_for, new_phone, outbox_of, provider_settings, queue


async def test_clinics_hear_when_their_text_provider_is_paused_and_when_it_resumes(db, make_tenant, settings):
    owner = f"owner-{uuid.uuid4().hex[:8]}@clinic.example"
    tenant = await make_tenant(
        settings={"min_lead_minutes": 0, "max_days_ahead": 400, "alert_email": "ops@clinic.example"},
        owner={"email": owner, "name": "Olive Owner"},
    )
    now = daytime()
    numbers = [new_phone() for _ in range(4)]
    async with running_fake_twilio() as twilio:
        config = provider_settings(
            settings,
            twilio,
            None,
            circuit_failure_threshold=3,
            circuit_open_seconds=60,
            outbox_max_attempts=10,
        )
        async with dispatcher_for(db, config) as dispatcher:
            for number in numbers:
                await queue(db, tenant.id, now, number)
            twilio.outage_requests = 1000
            await dispatcher.run_once(now)
            await dispatcher.drain(
                now + timedelta(seconds=601)
            )  # a probe fails: still paused, not told again
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
