"""The outbox dispatcher against local Twilio and SMTP servers: the official clients run as in production."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from backend.messaging import opt_outs, outbox_claims
from tests.conftest import at, local_day, utcnow
from tests.fakes.smtp_server import running_fake_smtp
from tests.fakes.twilio_server import running_fake_twilio
from tests.support.db import caller_for, rows, scalar
from tests.support.messaging import (
    book_at,
    daytime,
    dispatcher_for,
    new_email,
    new_phone,
    outbox_of,
    provider_outage,
    provider_settings,
    queue,
)


async def test_a_booking_queues_its_confirmations_and_a_failed_one_queues_nothing(db, tenant, settings):
    now = daytime()
    phone, email = new_phone(), new_email()
    start = at(local_day(5), "10:00")
    appointment = await book_at(
        db, tenant.id, tenant.services["Check-up"], start, now, phone=phone, email=email
    )
    with pytest.raises(Exception, match="taken"):
        await book_at(
            db, tenant.id, tenant.services["Check-up"], start, now, phone=new_phone(), email=new_email()
        )

    queued = await outbox_of(db, tenant.id)
    assert [(m["kind"], m["channel"], m["recipient"]) for m in queued] == [
        ("confirmation", "email", email),
        ("confirmation", "sms", phone),
    ]
    sms = next(m for m in queued if m["channel"] == "sms")
    assert appointment.reference in sms["body"] and "Check-up" in sms["body"] and sms["segments"] == 1
    assert all(m["status"] == "pending" and m["urgent"] for m in queued)
    events = await rows(
        db,
        "SELECT type, entity_id FROM domain_events WHERE tenant_id = :t AND entity_type = 'message'",
        t=tenant.id,
    )
    assert sorted(e["entity_id"] for e in events) == sorted(str(m["id"]) for m in queued)
    assert {e["type"] for e in events} == {"message.queued"}


async def test_sms_through_twilio_and_email_through_smtp(db, tenant, settings):
    now = daytime()
    phone, email = new_phone(), new_email()
    async with running_fake_twilio() as twilio:
        with running_fake_smtp() as smtp:
            await book_at(
                db,
                tenant.id,
                tenant.services["Check-up"],
                at(local_day(5), "11:00"),
                now,
                phone=phone,
                email=email,
            )
            async with dispatcher_for(db, provider_settings(settings, twilio, smtp)) as dispatcher:
                await dispatcher.drain(now)

    sent = {m["channel"]: m for m in await outbox_of(db, tenant.id)}
    [text] = twilio.to(phone)
    assert "booked for Check-up" in text.body
    # The status callback names the row, so a receipt settles it even if the send was never recorded.
    assert text.status_callback.endswith(f"/twilio/sms/status?outbox={sent['sms']['id']}")
    [mail] = smtp.to(email)
    assert mail["Subject"].startswith("Booked: Check-up")
    assert "Hello Maria" in mail.get_payload()
    # Every attempt at one e-mail carries the same Message-ID, so a repeat can be recognised.
    assert mail["Message-ID"] == f"<{sent['email']['id']}@frontdesk.localhost>"
    assert sent["sms"]["status"] == sent["email"]["status"] == "sent"
    assert sent["sms"]["provider_message_id"] == text.sid and sent["sms"]["provider"] == "twilio"
    assert sent["email"]["provider"] == "smtp" and sent["email"]["attempts"] == 1


async def test_transient_errors_back_off_and_then_succeed_or_give_up(db, tenant, settings):
    now = daytime()
    recovers, never = new_phone(), new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(
            settings, twilio, None, outbox_max_attempts=3, circuit_failure_threshold=50
        )
        async with dispatcher_for(db, config) as dispatcher:
            await queue(db, tenant.id, now, recovers)
            twilio.outage_requests = 1
            await dispatcher.drain(now)
            [row] = await outbox_of(db, tenant.id, recipient=recovers)
            assert (row["status"], row["attempts"], row["error_code"]) == ("failed", 1, "20503")
            # Backoff with jitter: 30 s base, between 0.5x and 1.5x.
            assert now + timedelta(seconds=15) <= row["next_attempt_at"] <= now + timedelta(seconds=45)
            await dispatcher.drain(now + timedelta(seconds=10))
            assert len(twilio.to(recovers)) == 0  # not due yet
            await dispatcher.drain(now + timedelta(seconds=46))
            [row] = await outbox_of(db, tenant.id, recipient=recovers)
            assert (row["status"], row["attempts"]) == ("sent", 2)

            twilio.failing_numbers[never] = 20500
            await queue(db, tenant.id, now, never)
            for minutes in (0, 5, 60):
                await dispatcher.drain(now + timedelta(minutes=minutes))
            [row] = await outbox_of(db, tenant.id, recipient=never)
            assert (row["status"], row["attempts"]) == ("permanently_failed", 3)


async def test_permanent_errors_are_not_retried_and_21610_records_the_opt_out(db, tenant, settings):
    now = daytime()
    invalid, unsubscribed = new_phone(), new_phone()
    async with running_fake_twilio() as twilio:
        twilio.failing_numbers = {invalid: 21211, unsubscribed: 21610}
        async with dispatcher_for(db, provider_settings(settings, twilio, None)) as dispatcher:
            await queue(db, tenant.id, now, invalid)
            await queue(db, tenant.id, now, unsubscribed)
            await dispatcher.drain(now)
            await dispatcher.drain(now + timedelta(hours=2))
            requests = twilio.requests
            # Later messages to the opted-out number never reach Twilio.
            await queue(db, tenant.id, now, unsubscribed, kind="confirmation", urgent=True)
            await dispatcher.drain(now + timedelta(hours=2))
            assert twilio.requests == requests

    [bad] = await outbox_of(db, tenant.id, recipient=invalid)
    assert (bad["status"], bad["attempts"], bad["error_code"]) == ("permanently_failed", 1, "21211")
    assert "not a valid phone number" in bad["error"]
    # Both rows carry the same injected created_at, so they are told apart by kind, not by order.
    statuses = {
        m["kind"]: (m["status"], m["attempts"])
        for m in await outbox_of(db, tenant.id, recipient=unsubscribed)
    }
    assert statuses == {"reminder": ("opted_out", 1), "confirmation": ("opted_out", 0)}
    source = await scalar(
        db, "SELECT source FROM sms_opt_outs WHERE tenant_id = :t AND phone = :p", t=tenant.id, p=unsubscribed
    )
    assert source == "carrier"


async def test_the_circuit_opens_on_an_outage_and_closes_when_twilio_recovers(db, tenant, settings):
    now = daytime()
    async with provider_outage(db, settings, tenant.id, now, 8) as outage:
        twilio, dispatcher = outage.twilio, outage.dispatcher
        assert twilio.requests == 8
        # Open: the rows are due again (backoff <= 45 s) but Twilio is left alone.
        await dispatcher.drain(now + timedelta(minutes=2))
        assert twilio.requests == 8
        # Cool-down over (60 s doubled per failure past the threshold, capped at 600 s): one probe.
        await dispatcher.drain(now + timedelta(seconds=601))
        assert twilio.requests == 9
        # The probe failed: open again, for longer.
        await dispatcher.drain(now + timedelta(seconds=700))
        assert twilio.requests == 9
        twilio.outage_requests = 0
        later = now + timedelta(seconds=601 + 601)
        await dispatcher.drain(later)  # the probe succeeds, the circuit closes, the rest go
    assert sorted(m.to for m in twilio.messages) == sorted(outage.numbers)
    assert {m["status"] for m in await outbox_of(db, tenant.id)} == {"sent"}


async def test_a_half_open_provider_is_probed_only_by_a_claim_with_none_beside_it(db, tenant, settings):
    """A worker claims twice at once (`dispatcher.py`): only one of them may send the probe."""
    now = daytime()
    async with provider_outage(db, settings, tenant.id, now, 4) as outage:  # four failures: open
        half_open = now + timedelta(seconds=601)
        beside = await db.transaction(
            lambda session: outbox_claims.claim(
                session, outage.config, outage.dispatcher.providers, half_open, 10, probe=False
            )
        )
        assert beside.claimed == []
        outage.twilio.outage_requests = 0
        await outage.dispatcher.drain(half_open)  # the probe goes, the circuit closes, the rest follow
    assert sorted(m.to for m in outage.twilio.messages) == sorted(outage.numbers)


async def test_opted_out_numbers_are_never_sent_to(db, tenant, settings):
    now = daytime()
    phone = new_phone()
    caller = await caller_for(db, tenant.id)
    await db.transaction(lambda session: opt_outs.record_opt_out(session, caller.tenant.id, phone, "keyword"))
    async with (
        running_fake_twilio() as twilio,
        dispatcher_for(db, provider_settings(settings, twilio, None)) as dispatcher,
    ):
        await queue(db, tenant.id, now, phone, kind="confirmation", urgent=True)
        await dispatcher.drain(now)
    assert twilio.requests == 0
    [row] = await outbox_of(db, tenant.id, recipient=phone)
    assert (row["status"], row["attempts"]) == ("opted_out", 0)


async def test_the_per_recipient_rate_limit_holds_the_excess_until_the_window_allows(db, tenant, settings):
    now = daytime()
    phone, other = new_phone(), new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(
            settings, twilio, None, sms_rate_limit_count=3, sms_rate_limit_window_minutes=60
        )
        async with dispatcher_for(db, config) as dispatcher:
            for n in range(5):
                await queue(db, tenant.id, now + timedelta(seconds=n), phone, key=f"limit-{phone}-{n}")
            await queue(db, tenant.id, now, other)
            await dispatcher.drain(now + timedelta(seconds=5))
            assert len(twilio.to(phone)) == 3 and len(twilio.to(other)) == 1
            limited = [
                m for m in await outbox_of(db, tenant.id, recipient=phone) if m["status"] == "rate_limited"
            ]
            assert len(limited) == 2 and all(m["attempts"] == 0 for m in limited)
            assert {m["next_attempt_at"] for m in limited} == {now + timedelta(seconds=5, minutes=60)}
            await dispatcher.drain(now + timedelta(minutes=30))
            assert len(twilio.to(phone)) == 3
            await dispatcher.drain(now + timedelta(minutes=61))
            assert len(twilio.to(phone)) == 5


async def test_the_on_call_phone_gets_every_emergency_alert_at_night_whatever_the_rate_limit(
    db, tenant, settings
):
    night = at(local_day(1), "03:00").astimezone(UTC)
    on_call = new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, sms_rate_limit_count=2)
        async with dispatcher_for(db, config) as dispatcher:
            for n in range(4):
                await queue(
                    db,
                    tenant.id,
                    night,
                    on_call,
                    kind="triage_alert",
                    urgent=True,
                    key=f"alert-{n}-{on_call}",
                )
            await dispatcher.drain(night)
            assert len(twilio.to(on_call)) == 4


async def test_quiet_hours_defer_non_urgent_texts_in_the_recipients_timezone(db, tenant, settings):
    late = at(local_day(1), "22:30").astimezone(UTC)  # 22:30 in New York is 19:30 in Los Angeles
    new_york, los_angeles, urgent = new_phone("212"), new_phone("310"), new_phone("212")
    async with (
        running_fake_twilio() as twilio,
        dispatcher_for(db, provider_settings(settings, twilio, None)) as dispatcher,
    ):
        await queue(db, tenant.id, late, new_york)
        await queue(db, tenant.id, late, los_angeles)
        await queue(db, tenant.id, late, urgent, kind="confirmation", urgent=True)
        await dispatcher.drain(late)
        assert twilio.to(new_york) == []
        assert len(twilio.to(los_angeles)) == 1 and len(twilio.to(urgent)) == 1
        [row] = await outbox_of(db, tenant.id, recipient=new_york)
        morning = at(local_day(2), "08:00").astimezone(UTC)
        assert (row["status"], row["next_attempt_at"], row["attempts"]) == ("pending", morning, 0)
        await dispatcher.drain(morning)
        assert len(twilio.to(new_york)) == 1


async def test_a_row_left_sending_by_a_dead_worker_is_reclaimed_after_the_lease(db, tenant, settings):
    now = daytime()
    phone = new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, outbox_lease_seconds=120)
        async with dispatcher_for(db, config) as dispatcher:
            await queue(db, tenant.id, now, phone)
            # A worker claims the row and dies before sending.
            await db.transaction(
                lambda session: outbox_claims.claim(session, config, {"sms": "twilio"}, now, 1)
            )
            await dispatcher.drain(now + timedelta(seconds=60))
            assert twilio.to(phone) == []  # still leased
            await dispatcher.drain(now + timedelta(seconds=121))
            # Twilio was asked first: it had never seen the message, so it was sent.
            assert [lookup["To"] for lookup in twilio.lookups] == [phone]
    assert len(twilio.to(phone)) == 1
    [row] = await outbox_of(db, tenant.id, recipient=phone)
    assert (row["status"], row["attempts"]) == ("sent", 2)


async def test_a_text_sent_by_a_worker_that_died_before_recording_it_is_not_sent_again(db, tenant, settings):
    now = utcnow()  # Twilio's clock: it is asked for the messages sent since the claim
    phone, other = new_phone(), new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, outbox_lease_seconds=120)
        async with dispatcher_for(db, config) as dispatcher:
            await queue(db, tenant.id, now, phone, kind="confirmation", urgent=True)
            await queue(db, tenant.id, now, other, kind="confirmation", urgent=True)
            # A worker claims both, hands them to Twilio, and dies before recording either.
            claims = await db.transaction(
                lambda session: outbox_claims.claim(session, config, {"sms": "twilio"}, now, 2)
            )
            sender = dispatcher.senders["sms"]
            sids = {claimed.recipient: await sender.send(claimed.envelope) for claimed in claims.claimed}
            await dispatcher.drain(now + timedelta(seconds=60))
            await dispatcher.drain(now + timedelta(seconds=121))
    assert len(twilio.to(phone)) == len(twilio.to(other)) == 1
    for number in (phone, other):
        [row] = await outbox_of(db, tenant.id, recipient=number)
        assert (row["status"], row["attempts"], row["provider_message_id"]) == ("sent", 1, sids[number])


async def test_email_refused_permanently_is_not_retried(db, tenant, settings):
    now = daytime()
    refused = new_email()
    with running_fake_smtp() as smtp:
        smtp.refused.add(refused)
        async with dispatcher_for(db, provider_settings(settings, None, smtp)) as dispatcher:
            await queue(db, tenant.id, now, refused, channel="email")
            await dispatcher.drain(now)
            await dispatcher.drain(now + timedelta(hours=1))
    [row] = await outbox_of(db, tenant.id, recipient=refused)
    assert (row["status"], row["attempts"], row["error_code"]) == ("permanently_failed", 1, "550")


async def test_without_accounts_the_log_provider_records_messages(db, tenant, settings):
    now = daytime()
    phone = new_phone()
    async with dispatcher_for(db, settings) as dispatcher:
        await queue(db, tenant.id, now, phone)
        await dispatcher.drain(now)
    [row] = await outbox_of(db, tenant.id, recipient=phone)
    assert (
        row["status"] == "sent" and row["provider"] == "log" and row["provider_message_id"].startswith("log-")
    )


async def test_staff_see_what_was_sent(client, db, tenant, settings):
    now = daytime()
    phone = new_phone()
    await book_at(db, tenant.id, tenant.services["Check-up"], at(local_day(5), "14:00"), now, phone=phone)
    response = await client.get("/api/v1/notifications", headers=tenant.auth)
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert (item["kind"], item["channel"], item["recipient"], item["status"]) == (
        "confirmation",
        "sms",
        phone,
        "pending",
    )
    bad = await client.get("/api/v1/notifications?status=lost", headers=tenant.auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_a_send_twilio_never_answered_is_looked_up_before_it_goes_again(db, tenant, settings):
    now = utcnow()  # Twilio's clock: it is asked for the messages sent since the send
    taken, dropped = new_phone(), new_phone()
    async with running_fake_twilio() as twilio:
        config = provider_settings(settings, twilio, None, provider_timeout_seconds=0.5)
        async with dispatcher_for(db, config) as dispatcher:
            # Twilio takes the first text but answers too late; the second it never takes.
            await queue(db, tenant.id, now, taken, kind="confirmation", urgent=True)
            twilio.answer_delay = 1
            await dispatcher.drain(now)
            await queue(db, tenant.id, now, dropped, kind="confirmation", urgent=True)
            twilio.answer_delay, twilio.delay = 0, 1
            await dispatcher.drain(now)
            for number in (taken, dropped):
                [row] = await outbox_of(db, tenant.id, recipient=number)
                assert (row["status"], row["claim_id"]) == ("sending", None)
                assert row["error"].startswith("no answer from Twilio")
            twilio.delay = 0
            await dispatcher.drain(now + timedelta(seconds=1))  # the wait is over: Twilio is asked
    assert len(twilio.to(taken)) == len(twilio.to(dropped)) == 1
    assert sorted(lookup["To"] for lookup in twilio.lookups) == sorted([taken, dropped])
    for number, attempts in ((taken, 1), (dropped, 2)):
        [row] = await outbox_of(db, tenant.id, recipient=number)
        assert (row["status"], row["attempts"]) == ("sent", attempts)
        assert row["provider_message_id"] == twilio.to(number)[0].sid
