"""The appointment message lifecycle with the clock injected: what is queued, when, and what the
policy engine refuses. Messages are checked in the outbox, where the dispatcher takes them from."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from backend.customers import service as customers
from backend.customers.schemas import CustomerIn
from backend.messaging import opt_outs
from backend.messaging.actions import sweep_lapsed_holds
from backend.scheduling import attendance, booking
from backend.scheduling.models import WaitlistEntry
from backend.scheduling.schemas import CancelIn, RescheduleIn
from tests.conftest import NY, at, local_day, utcnow
from tests.support.chat import open_chat
from tests.support.db import booking_transaction, caller_for, rows, scalar
from tests.support.messaging import (
    actions_of,
    book_at,
    new_email,
    new_phone,
    outbox_of,
    reword,
    runner_for,
)


def noon(days: int = 1) -> datetime:
    return at(local_day(days), "12:00").astimezone(UTC)


async def cancel(db, tenant_id, reference, now):
    caller = await caller_for(db, tenant_id)
    return await booking_transaction(
        db, caller, lambda s: booking.cancel(s, caller, reference, CancelIn(reason="can't come"), now)
    )


async def reschedule(db, tenant_id, reference, when, now):
    caller = await caller_for(db, tenant_id)
    return await booking_transaction(
        db, caller, lambda s: booking.reschedule(s, caller, reference, RescheduleIn(starts_at=when), now)
    )


async def attended(db, tenant_id, reference, outcome, now):
    caller = await caller_for(db, tenant_id)
    return await booking_transaction(
        db, caller, lambda s: attendance.record_attendance(s, caller, reference, outcome, now)
    )


async def denials(db, tenant_id, rule):
    return await rows(
        db,
        "SELECT details FROM audit_log WHERE tenant_id = :t AND action = 'policy.denied' "
        "AND details->>'rule' = :rule ORDER BY id",
        t=tenant_id,
        rule=rule,
    )


async def test_reminders_at_48_and_24_hours_go_when_due_and_ask_for_c_or_r(db, tenant, settings):
    now = noon(1)
    phone, email = new_phone(), new_email()
    start = at(local_day(5), "10:00")
    appointment = await book_at(
        db, tenant.id, tenant.services["Check-up"], start, now, phone=phone, email=email
    )
    reminders = await actions_of(db, tenant.id, "send_reminder")
    assert [(a["due_at"], a["status"]) for a in reminders] == [
        (at(local_day(3), "10:00"), "pending"),
        (at(local_day(4), "10:00"), "pending"),
    ]
    runner = runner_for(db, settings)
    await runner.run_due(at(local_day(3), "09:59"))
    assert await outbox_of(db, tenant.id, kind="reminder") == []
    await runner.run_due(at(local_day(3), "10:00"))
    sent = await outbox_of(db, tenant.id, kind="reminder")
    assert [m["channel"] for m in sent] == ["email", "sms"]
    sms = sent[1]["body"]
    assert "Reply C to confirm or R to reschedule" in sms and "Check-up" in sms and sent[1]["segments"] == 1
    assert appointment.reference in sent[0]["body"] and not sent[1]["urgent"]
    # Running again (a second worker, a retried job) queues nothing more.
    await runner.run_due(at(local_day(3), "10:05"))
    assert len(await outbox_of(db, tenant.id, kind="reminder")) == 2


async def test_a_reminder_already_due_at_booking_is_skipped(db, tenant, settings):
    now = noon(1)
    start = at(local_day(2), "15:00")  # 27 hours ahead
    await book_at(db, tenant.id, tenant.services["Check-up"], start, now, phone=new_phone())
    reminders = await actions_of(db, tenant.id, "send_reminder")
    assert [(a["payload"]["offset_hours"], a["status"]) for a in reminders] == [
        (48, "skipped"),
        (24, "pending"),
    ]
    assert "passed" in reminders[0]["outcome"]


def next_spring_forward() -> datetime:
    """The first day, at least 4 days ahead, on which New York clocks jump forward."""
    day = local_day(4)
    for _ in range(400):
        before = datetime(day.year, day.month, day.day, 0, 30, tzinfo=NY)
        after = datetime(day.year, day.month, day.day, 12, 0, tzinfo=NY)
        if after.utcoffset() > before.utcoffset():
            return day
        day += timedelta(days=1)
    raise AssertionError("no DST change within 400 days")


async def test_reminders_keep_the_wall_clock_time_across_a_dst_change(db, tenant, settings):
    dst_day = next_spring_forward()
    start = at(dst_day, "10:00")
    await book_at(db, tenant.id, tenant.services["Check-up"], start, noon(1), phone=new_phone())
    due = [a["due_at"] for a in await actions_of(db, tenant.id, "send_reminder")]
    assert due == [at(dst_day - timedelta(days=2), "10:00"), at(dst_day - timedelta(days=1), "10:00")]
    # The day before at 10:00 is only 23 real hours earlier: the clocks jumped in between.
    assert start - due[1] == timedelta(hours=23)


async def test_rescheduling_moves_reminders_and_cancelling_removes_them(db, tenant, settings):
    now = noon(1)
    phone = new_phone()
    appointment = await book_at(
        db, tenant.id, tenant.services["Check-up"], at(local_day(5), "10:00"), now, phone=phone
    )
    runner = runner_for(db, settings)
    await runner.run_due(at(local_day(3), "10:00"))  # the 48-hour reminder goes
    moved_at = at(local_day(3), "12:00")
    await reschedule(db, tenant.id, appointment.reference, at(local_day(6), "11:00"), moved_at)
    reminders = await actions_of(db, tenant.id, "send_reminder")
    assert [(a["due_at"], a["status"]) for a in reminders] == [
        (at(local_day(3), "10:00"), "done"),
        (at(local_day(4), "10:00"), "cancelled"),
        (at(local_day(4), "11:00"), "pending"),
        (at(local_day(5), "11:00"), "pending"),
    ]
    [moved] = await outbox_of(db, tenant.id, kind="rescheduled")
    assert "moved to" in moved["body"] and moved["urgent"]

    await cancel(db, tenant.id, appointment.reference, at(local_day(4), "09:00"))
    statuses = [a["status"] for a in await actions_of(db, tenant.id, "send_reminder")]
    assert statuses == ["done", "cancelled", "cancelled", "cancelled"]
    [notice] = await outbox_of(db, tenant.id, kind="cancelled")
    assert "is cancelled" in notice["body"] and notice["recipient"] == phone
    await runner.run_due(at(local_day(5), "12:00"))
    assert len(await outbox_of(db, tenant.id, kind="reminder")) == 1


async def test_consent_and_opt_out_are_checked_per_channel_and_audited(db, tenant, settings):
    now = noon(1)
    no_texts = new_phone()
    await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(5), "10:00"),
        now,
        phone=no_texts,
        email=new_email(),
        sms_consent=False,
    )
    confirmations = {m["channel"]: m for m in await outbox_of(db, tenant.id, kind="confirmation")}
    assert confirmations["email"]["status"] == "pending"
    # Without consent the text is kept, final, with the reason, so staff can see it was not sent.
    assert confirmations["sms"]["status"] == "suppressed"
    assert "outbound.contact" in confirmations["sms"]["error"] and "agreed" in confirmations["sms"]["error"]
    [denied] = await denials(db, tenant.id, "outbound.contact")
    assert denied["details"]["channel"] == "sms" and "agreed" in denied["details"]["policy_reason"]

    stopped = new_phone()
    caller = await caller_for(db, tenant.id)
    await db.transaction(lambda s: opt_outs.record_opt_out(s, caller.tenant.id, stopped, "keyword"))
    await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(5), "11:00"),
        now,
        phone=stopped,
        email=new_email(),
    )
    await runner_for(db, settings).run_due(at(local_day(4), "11:00"))
    texts = await outbox_of(db, tenant.id, channel="sms")
    # No text goes out; every one withheld is kept as a row with the reason (no consent; opted out).
    assert {(m["recipient"], m["status"]) for m in texts} == {
        (no_texts, "suppressed"),
        (stopped, "suppressed"),
    }
    assert all("opted out" in m["error"] for m in texts if m["recipient"] == stopped)
    assert len([m for m in texts if m["recipient"] == stopped]) == 3
    assert len(await denials(db, tenant.id, "outbound.opt_out")) == 3  # confirmation, 48 h, 24 h


async def add_to_waitlist(db, tenant_id, service_id, day, part, phone):
    caller = await caller_for(db, tenant_id)

    async def work(session):
        customer = await customers.find_or_create(
            session,
            caller,
            CustomerIn(name="Wait Lister", phone=phone, email=new_email()),
            source="api",
            now=utcnow(),
        )
        entry = WaitlistEntry(
            tenant_id=caller.tenant.id,
            customer_id=customer.id,
            service_id=service_id,
            first_day=day,
            last_day=day,
            part_of_day=part,
        )
        session.add(entry)
        await session.flush()
        return entry.id

    return await db.transaction(work)


def offer_token(message_body: str) -> str:
    return re.search(r"/o/(\S+)", message_body).group(1)


async def test_a_freed_slot_is_offered_down_the_waiting_list_and_booked_from_the_link(
    db, client, tenant, settings
):
    now = noon(1)
    day = local_day(5)
    service = tenant.services["Check-up"]
    appointment = await book_at(db, tenant.id, service, at(day, "10:00"), now, phone=new_phone())
    first, second, afternoon = new_phone(), new_phone(), new_phone()
    await add_to_waitlist(db, tenant.id, service, day, "afternoon", afternoon)
    await add_to_waitlist(db, tenant.id, service, day, "morning", first)
    await add_to_waitlist(db, tenant.id, service, day, "morning", second)

    await cancel(db, tenant.id, appointment.reference, now)
    runner = runner_for(db, settings)
    await runner.run_due(now)
    [offer] = await outbox_of(db, tenant.id, kind="waitlist_offer", channel="sms")
    assert offer["recipient"] == first and "held for you 30 min" in offer["body"]
    first_token = offer_token(offer["body"])
    page = await client.get(f"/o/{first_token}")
    assert page.status_code == 200 and "Book this time" in page.text and "Check-up" in page.text

    # Not taken in time: the next patient in line gets it.
    await runner.run_due(now + timedelta(minutes=31))
    offers = await outbox_of(db, tenant.id, kind="waitlist_offer", channel="sms")
    assert [m["recipient"] for m in offers] == [first, second]
    assert (await client.get(f"/o/{first_token}")).status_code == 404
    statuses = await rows(
        db, "SELECT status FROM waitlist_entries WHERE tenant_id = :t ORDER BY created_at", t=tenant.id
    )
    assert [r["status"] for r in statuses] == ["waiting", "waiting", "offered"]

    token = offer_token(offers[1]["body"])
    taken = await client.post(f"/o/{token}", follow_redirects=False)
    assert taken.status_code == 303
    again = await client.post(f"/o/{token}", follow_redirects=True)  # a double tap
    assert again.status_code == 200 and "You're booked" in again.text
    booked = await rows(
        db,
        "SELECT a.starts_at, c.phone FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE a.tenant_id = :t AND a.status = 'booked'",
        t=tenant.id,
    )
    assert booked == [{"starts_at": at(day, "10:00"), "phone": second}]
    confirmations = await outbox_of(db, tenant.id, kind="confirmation", channel="sms")
    assert second in {m["recipient"] for m in confirmations}
    await runner.run_due(now + timedelta(minutes=62))
    assert len(await outbox_of(db, tenant.id, kind="waitlist_offer", channel="sms")) == 2


async def test_an_offer_freed_at_night_waits_for_the_morning(db, tenant, settings):
    late = at(local_day(1), "23:00").astimezone(UTC)
    day = local_day(5)
    service = tenant.services["Check-up"]
    appointment = await book_at(db, tenant.id, service, at(day, "15:00"), noon(1), phone=new_phone())
    await add_to_waitlist(db, tenant.id, service, day, None, new_phone())
    await cancel(db, tenant.id, appointment.reference, late)
    await runner_for(db, settings).run_due(late)
    [action] = await actions_of(db, tenant.id, "offer_waitlist_slot")
    assert (action["status"], action["due_at"]) == ("pending", at(local_day(2), "08:00"))
    assert await outbox_of(db, tenant.id, kind="waitlist_offer") == []
    assert (
        await scalar(
            db, "SELECT count(*) FROM holds WHERE tenant_id = :t AND owner LIKE 'waitlist:%'", t=tenant.id
        )
        == 0
    )


async def test_a_lapsed_hold_earns_one_follow_up_within_cooldown_and_cap(db, tenant, settings):
    start = noon(1)
    phone = new_phone()
    runner = runner_for(db, settings)

    async def hold_and_walk_away(minutes_later: int) -> datetime:
        now = start + timedelta(minutes=minutes_later)
        chat = await open_chat(db, tenant.id, now)
        await chat.hold_with_details(contact=phone)
        lapsed = now + timedelta(minutes=6)
        await sweep_lapsed_holds(db, lapsed)
        await runner.run_due(lapsed)
        return lapsed

    await hold_and_walk_away(0)
    [first] = await outbox_of(db, tenant.id, kind="follow_up", channel="sms")
    assert first["recipient"] == phone and "Reply to pick another time" in first["body"]
    await hold_and_walk_away(10)  # within the 30-minute cooldown
    assert len(await not_withheld(db, tenant.id, "follow_up")) == 1
    assert len(await denials(db, tenant.id, "outbound.cooldown")) == 1
    await hold_and_walk_away(120)
    await hold_and_walk_away(240)  # a third within the week: over the cap of 2
    assert len(await not_withheld(db, tenant.id, "follow_up")) == 2
    assert len(await denials(db, tenant.id, "outbound.cap")) == 1
    # Each one withheld is kept, with its reason.
    withheld = [
        m["error"] for m in await outbox_of(db, tenant.id, kind="follow_up") if m["status"] == "suppressed"
    ]
    assert len(withheld) == 2 and "outbound.cooldown" in withheld[0] and "outbound.cap" in withheld[1]
    skipped = [a for a in await actions_of(db, tenant.id, "send_follow_up") if a["status"] == "skipped"]
    assert len(skipped) == 2 and "outbound.cap" in skipped[1]["outcome"]


async def test_a_hold_without_contact_details_gets_no_follow_up(db, tenant, settings):
    now = noon(1)
    chat = await open_chat(db, tenant.id, now)
    await chat.say("check-up tomorrow afternoon")
    await chat.tap(chat.chips[0]["label"])
    await sweep_lapsed_holds(db, now + timedelta(minutes=6))
    await runner_for(db, settings).run_due(now + timedelta(minutes=6))
    [action] = await actions_of(db, tenant.id, "send_follow_up")
    assert action["status"] == "skipped" and "no contact" in action["outcome"]
    assert await outbox_of(db, tenant.id, kind="follow_up") == []


async def test_review_requests_after_a_visit_once_per_patient_and_no_show_recovery(
    db, client, tenant, settings
):
    link = "https://reviews.example/clinic"
    response = await client.patch(
        "/api/v1/tenant/settings", json={"settings": {"review_link": link}}, headers=tenant.auth
    )
    assert response.status_code == 200 and response.json()["settings"]["review_link"] == link
    assert response.json()["settings"]["quiet_hours_start"] == "21:00:00"
    bad = await client.patch(
        "/api/v1/tenant/settings", json={"settings": {"review_link": "http://x"}}, headers=tenant.auth
    )
    assert (
        bad.status_code == 422
        and bad.json()["error"]["details"]["errors"][0]["field"] == "settings.review_link"
    )

    phone = new_phone()
    runner = runner_for(db, settings)
    service = tenant.services["Check-up"]
    first = await book_at(db, tenant.id, service, at(local_day(5), "10:00"), noon(1), phone=phone)
    finished = at(local_day(5), "10:40")
    await attended(db, tenant.id, first.reference, "completed", finished)
    await runner.run_due(finished + timedelta(hours=1))
    assert await outbox_of(db, tenant.id, kind="review_request") == []
    await runner.run_due(finished + timedelta(hours=2))
    [review] = await outbox_of(db, tenant.id, kind="review_request")
    assert link in review["body"]

    second = await book_at(db, tenant.id, service, at(local_day(6), "10:00"), noon(1), phone=phone)
    await attended(db, tenant.id, second.reference, "completed", at(local_day(6), "10:40"))
    await runner.run_due(at(local_day(6), "13:00"))
    assert len(await not_withheld(db, tenant.id, "review_request")) == 1
    assert len(await denials(db, tenant.id, "outbound.cap")) == 1

    third = await book_at(db, tenant.id, service, at(local_day(7), "10:00"), noon(1), phone=phone)
    missed = at(local_day(7), "10:20")
    await attended(db, tenant.id, third.reference, "no_show", missed)
    await runner.run_due(missed)
    [recovery] = await outbox_of(db, tenant.id, kind="no_show")
    assert "Reply R" in recovery["body"] and recovery["recipient"] == phone
    # Its reminders will not go now.
    assert {
        a["status"]
        for a in await actions_of(db, tenant.id, "send_reminder")
        if a["appointment_id"] == third.id
    } == {"cancelled"}


async def test_attendance_cannot_be_recorded_before_the_visit(client, tenant, settings):
    start = at(local_day(5), "10:00")
    body = {
        "service_id": tenant.services["Check-up"],
        "starts_at": start.isoformat(),
        "customer": {"name": "Ann Early", "phone": new_phone()},
    }
    booked = (await client.post("/api/v1/bookings", json=body, headers=tenant.auth)).json()
    response = await client.post(f"/api/v1/bookings/{booked['reference']}/no-show", headers=tenant.auth)
    assert response.status_code == 409 and "not started" in response.json()["error"]["message"]


async def test_tenant_templates_override_the_profile_and_are_validated(
    db, client, tenant, settings, template_processes
):
    url = "/api/v1/message-templates/reminder/sms"
    broken = await client.put(url, json={"source": "{{ practice "}, headers=tenant.auth)
    assert broken.status_code == 422 and "template error" in broken.json()["error"]["message"]
    long = await client.put(url, json={"source": "Hi 😀 " * 40}, headers=tenant.auth)
    assert long.status_code == 422 and "UCS-2" in long.json()["error"]["message"]
    unknown = await client.put(url, json={"source": "{{ secret_key }}"}, headers=tenant.auth)
    assert unknown.status_code == 422
    ok = await client.put(
        url,
        json={"source": "{{ practice }}: see you {{ when }}! C = confirm, R = reschedule"},
        headers=tenant.auth,
    )
    assert ok.status_code == 200
    preview = "Test Clinic: see you Tue Dec 3 at 10:30 AM! C = confirm, R = reschedule"
    assert ok.json()["customized"] and ok.json()["preview"] == preview
    assert ok.json()["segments"] == {"encoding": "GSM-7", "units": len(preview), "segments": 1}

    await book_at(
        db, tenant.id, tenant.services["Check-up"], at(local_day(5), "10:00"), noon(1), phone=new_phone()
    )
    await runner_for(db, settings).run_due(at(local_day(3), "10:00"))
    [queued] = await outbox_of(db, tenant.id, kind="reminder", channel="sms")
    # Queued in the profile's wording; the tenant's own is rendered after commit, as the worker does.
    assert queued["status"] == "rendering" and "Reply C to confirm" in queued["body"]
    await reword(db, template_processes, at(local_day(3), "10:00"))
    [sms] = await outbox_of(db, tenant.id, kind="reminder", channel="sms")
    assert sms["status"] == "pending" and sms["render_context"] is None
    assert sms["body"].startswith("Test Clinic: see you ") and sms["body"].endswith(
        "C = confirm, R = reschedule"
    )

    listing = (await client.get("/api/v1/message-templates", headers=tenant.auth)).json()
    sms_parts = [t for t in listing if t["part"] == "sms"]
    assert len(sms_parts) == 8 and all(t["segments"]["segments"] == 1 for t in sms_parts)
    reset = await client.delete(url, headers=tenant.auth)
    assert reset.status_code == 200 and not reset.json()["customized"]
    assert (await client.delete(url, headers=tenant.auth)).status_code == 404


async def test_other_tenants_templates_and_notifications_stay_apart(client, make_tenant):
    one, other = await make_tenant(), await make_tenant()
    await client.put(
        "/api/v1/message-templates/no_show/sms", json={"source": "{{ practice }} only"}, headers=one.auth
    )
    theirs = (await client.get("/api/v1/message-templates", headers=other.auth)).json()
    assert not any(t["customized"] for t in theirs)
    assert (await client.get("/api/v1/notifications", headers=other.auth)).json()["items"] == []


async def not_withheld(db, tenant_id, kind: str) -> list[dict]:
    """The messages of `kind` that were to be sent (withheld ones are kept too, as suppressed)."""
    return [m for m in await outbox_of(db, tenant_id, kind=kind) if m["status"] != "suppressed"]
