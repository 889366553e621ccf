"""Quiet hours never hold a message past the visit it is about: a patient far west of the clinic
gets their reminder before their night begins, or it is skipped with the reason on its row; held
texts say why, and times to a patient in another zone name the zone."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tests.conftest import at, local_day
from tests.fakes.twilio_server import running_fake_twilio
from tests.support.db import rows
from tests.support.messaging import (
    actions_of,
    book_at,
    dispatcher_for,
    new_phone,
    outbox_of,
    provider_settings,
    queue,
    runner_for,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")


async def test_a_far_west_patients_early_visit_is_reminded_before_their_night(db, make_tenant, settings):
    tenant = await make_tenant(settings={"reminder_offsets_hours": [2], "min_lead_minutes": 0})
    patient = new_phone("213")  # Los Angeles: three hours behind the clinic in New York
    booked_at = at(local_day(0), "00:01")
    # 9:00 in New York is 6:00 in Los Angeles: two hours before is 4:00 there, in quiet hours (21-08)
    # that end at 8:00, after the visit.
    visit = await book_at(
        db, tenant.id, tenant.services["Check-up"], at(local_day(2), "09:00"), booked_at, phone=patient
    )
    [reminder] = await actions_of(db, tenant.id, "send_reminder")
    due = reminder["due_at"].astimezone(LOS_ANGELES)
    assert (due.date(), due.hour, due.minute) == (
        local_day(1),
        20,
        45,
    )  # before 21:00 there, the night before

    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None)
        async with dispatcher_for(db, config) as dispatcher:
            await runner_for(db, config).run_due(reminder["due_at"])
            await dispatcher.drain(reminder["due_at"])
        sent = {m.body for m in twilio.to(patient)}
    [reminded] = await outbox_of(db, tenant.id, kind="reminder", recipient=patient)
    assert reminded["status"] == "sent" and reminded["body"] in sent
    assert re.search(r"at 9:00 AM E[SD]T\b", reminded["body"])  # the clinic's time, its zone named

    # A reminder that is due inside the patient's night anyway (queued late): not held past the
    # visit, but skipped, and the row says why.
    late = at(local_day(2), "07:00")  # 4:00 in Los Angeles
    message_id = await queue(db, tenant.id, late, patient, key=f"late:{visit.id}")
    await db.transaction(
        lambda session: session.execute(
            text("UPDATE notification_outbox SET appointment_id = :a WHERE id = :m"),
            {"a": visit.id, "m": message_id},
        )
    )
    # And one about nothing in particular: held until the morning, with the reason.
    general = await queue(db, tenant.id, late, patient, kind="review_request")
    async with running_fake_twilio() as twilio:
        async with dispatcher_for(db, provider_settings(settings, twilio, None)) as dispatcher:
            await dispatcher.drain(late)
        assert twilio.to(patient) == []
    [skipped] = await rows(db, "SELECT status, error FROM notification_outbox WHERE id = :m", m=message_id)
    assert skipped["status"] == "suppressed"
    assert "quiet hours" in skipped["error"] and "past the visit" in skipped["error"]
    [held] = await rows(
        db, "SELECT status, error, next_attempt_at FROM notification_outbox WHERE id = :m", m=general
    )
    assert held["status"] == "pending" and "held for quiet hours" in held["error"]
    assert "America/Los_Angeles" in held["error"]
    assert held["next_attempt_at"].astimezone(LOS_ANGELES).hour == 8
    assert timedelta(0) < held["next_attempt_at"] - late
