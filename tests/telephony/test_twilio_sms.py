"""Two-way SMS: signed Twilio webhooks through the real app and database, answered by the worker's
inbox through the outbox, delivered to the local Twilio server by the official client."""

from __future__ import annotations

from datetime import UTC, datetime

from channels.segments import count_segments
from tests.conftest import at, local_day
from tests.support.db import rows, scalar
from tests.support.messaging import book_at, new_phone, outbox_of, queue, runner_for
from tests.support.phone import new_sid, option, phone_lines, signed


async def check_up_in_five_days(db, tenant, patient: str):
    return await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(5), "11:00"),
        at(local_day(0), "00:01"),
        phone=patient,
    )


async def test_a_patient_books_by_text_with_numbered_options(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        ack = await phones.text(patient, practice, "Hi")
        assert ack.status_code == 200 and ack.headers["content-type"].startswith("application/xml")
        assert ack.text.endswith("<Response />")  # nothing inline: the answer comes through the outbox
        await phones.settle()
        [menu] = phones.received(patient)
        assert "virtual receptionist for Test Clinic" in menu.body and "1) Book an appointment" in menu.body

        times = await phones.say(patient, practice, "I'd like a check-up tomorrow afternoon")
        assert "Here are the first free times" in times and "Reply 1, 2" in times
        chosen = option(times, 2)
        held = await phones.say(patient, practice, "2")
        assert f"I'm holding {chosen}" in held and "What name should I put the booking under?" in held
        confirm = await phones.say(patient, practice, "Jane Doe")
        # The phone is known from the text itself: nobody asks for it.
        assert "Shall I book it?" in confirm and patient in confirm
        booked = await phones.say(patient, practice, "yes")
        assert "You're booked!" in booked

    [appointment] = await rows(
        db,
        "SELECT a.status, c.phone, c.name FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE a.tenant_id = :t",
        t=tenant.id,
    )
    assert appointment == {"status": "booked", "phone": patient, "name": "Jane Doe"}
    texts = phones.received(patient)
    assert {m.from_ for m in texts} == {
        practice
    }  # every answer, and the confirmation, from the number texted
    # One booked text: the reply in the thread is the confirmation (the template's text is withheld).
    assert sum("booked" in m.body.lower() for m in texts) == 1
    assert all(count_segments(m.body).segments <= 2 for m in texts)
    [thread] = await rows(
        db,
        "SELECT channel, patient_phone, practice_number FROM conversations WHERE tenant_id = :t",
        t=tenant.id,
    )
    assert thread == {"channel": "sms", "patient_phone": patient, "practice_number": practice}


async def test_c_confirms_and_r_reschedules_the_most_recently_reminded_appointment(db, tenant, settings):
    patient = new_phone()
    service = tenant.services["Check-up"]
    later = await book_at(
        db, tenant.id, service, at(local_day(4), "14:00"), at(local_day(0), "00:01"), phone=patient
    )
    sooner = await book_at(
        db, tenant.id, service, at(local_day(3), "10:00"), at(local_day(0), "00:02"), phone=patient
    )
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        runner = runner_for(db, phones.config)
        # The sooner visit's reminders go first; the later visit's 48-hour reminder is the most recent.
        for moment in (at(local_day(2), "10:30"), at(local_day(2), "14:30")):
            await runner.run_due(moment)
            await phones.dispatcher.drain(moment)
        reminders = await outbox_of(db, tenant.id, kind="reminder", status="sent")
        assert [r["appointment_id"] for r in reminders] == [sooner.id, sooner.id, later.id]
        assert all(r["sender"] == practice for r in reminders)

        confirmed = await phones.say(patient, practice, "C")
        assert "is confirmed" in confirmed
        statuses = await rows(db, "SELECT id, status FROM appointments WHERE tenant_id = :t", t=tenant.id)
        assert {r["id"]: r["status"] for r in statuses} == {later.id: "confirmed", sooner.id: "booked"}

        offered = await phones.say(patient, practice, "R")
        assert "Here are the first free times I can move it to" in offered and "1) " in offered
        asked = await phones.say(patient, practice, "1")
        assert "Shall I move" in asked and "1) Yes, move it" in asked
        # "1" again answers this question: the numbered yes, bound to the move it was asked about.
        moved = await phones.say(patient, practice, "1")
        assert "Done!" in moved and later.reference in moved
    assert (
        await scalar(db, "SELECT starts_at FROM appointments WHERE id = :id", id=later.id) != later.starts_at
    )
    assert (
        await scalar(db, "SELECT starts_at FROM appointments WHERE id = :id", id=sooner.id)
        == sooner.starts_at
    )
    handled = await rows(
        db, "SELECT handling FROM inbound_sms WHERE tenant_id = :t ORDER BY received_at", t=tenant.id
    )
    assert [h["handling"] for h in handled] == ["reminder_confirm", "reminder_reschedule", "turn", "turn"]


async def test_stop_start_help_and_after_stop_only_the_one_confirmation(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        helped = await phones.say(patient, practice, "help")
        assert "Test Clinic" in helped and "talk to a person" in helped and "STOP" in helped

        not_a_keyword = await phones.say(patient, practice, "cancel my appointment")
        assert "can't find any upcoming appointments for this number" in not_a_keyword
        assert await scalar(db, "SELECT count(*) FROM sms_opt_outs WHERE phone = :p", p=patient) == 0

        # A reminder queued before the STOP, still unsent when it arrives.
        await queue(db, tenant.id, datetime.now(UTC), patient, urgent=True)
        stopped = await phones.say(patient, practice, "  Stop. ")
        assert stopped.count("unsubscribed") == 1 and "START" in stopped
        received = len(phones.received(patient))
        # Nothing else reaches the number but HELP's answer (carriers require it): not answers, not a
        # second STOP, not a booking text.
        for text in ("hello?", "HELP", "STOP", "book a check-up"):
            await phones.text(patient, practice, text)
        await check_up_in_five_days(db, tenant, patient)
        await phones.settle()
        [helped_again] = phones.received(patient)[received:]
        assert "STOP" in helped_again.body and "Msg&data" in helped_again.body
        [reminder] = await outbox_of(db, tenant.id, kind="reminder", recipient=patient)
        assert reminder["status"] == "opted_out"
        unanswered = await rows(
            db, "SELECT status FROM inbound_sms WHERE from_number = :p ORDER BY received_at", p=patient
        )
        assert [r["status"] for r in unanswered][-4:] == ["opted_out", "opted_out", "handled", "opted_out"]

        resumed = await phones.say(patient, practice, "START")
        assert "resubscribed" in resumed
        assert "virtual receptionist" in await phones.say(patient, practice, "hi")

        assert "unsubscribed" in await phones.say(patient, practice, "CANCEL")
        assert "resubscribed" in await phones.say(
            patient, practice, "yes"
        )  # YES opts an unsubscribed number in
    sources = await rows(
        db,
        "SELECT action FROM audit_log WHERE tenant_id = :t AND action LIKE 'sms.opted%' ORDER BY id",
        t=tenant.id,
    )
    assert [s["action"] for s in sources] == [
        "sms.opted_out",
        "sms.opted_in",
        "sms.opted_out",
        "sms.opted_in",
    ]


async def test_forged_or_unsigned_texts_are_refused_and_audited(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        params = {"MessageSid": new_sid(), "From": patient, "To": practice, "Body": "STOP"}
        forged = await phones.post("/twilio/sms", params, token="someone-elses-token")
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "FORBIDDEN"
        unsigned = await phones.web.post("/twilio/sms", data=params)
        assert unsigned.status_code == 403
        # Signed for another URL (a replay against a different path) is refused too.
        replayed = await phones.web.post(
            "/twilio/sms", data=params, headers=signed("/twilio/sms/status", params)
        )
        assert replayed.status_code == 403
    assert await scalar(db, "SELECT count(*) FROM inbound_sms WHERE from_number = :p", p=patient) == 0
    assert await scalar(db, "SELECT count(*) FROM sms_opt_outs WHERE phone = :p", p=patient) == 0
    refused = await rows(
        db,
        "SELECT details FROM audit_log WHERE action = 'webhook.signature_rejected' ORDER BY id DESC LIMIT 3",
    )
    assert {r["details"]["path"] for r in refused} == {"/twilio/sms"}


async def test_a_redelivered_text_is_stored_and_answered_once(db, tenant, settings):
    patient = new_phone()
    sid = new_sid()
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        for _ in range(2):  # Twilio retries before the worker got to it …
            assert (await phones.text(patient, practice, "Hi", sid=sid)).status_code == 200
        await phones.settle()
        assert (await phones.text(patient, practice, "Hi", sid=sid)).status_code == 200  # … and after
        await phones.settle()
        assert len(phones.received(patient)) == 1
    assert await scalar(db, "SELECT count(*) FROM inbound_sms WHERE message_sid = :s", s=sid) == 1
    assert (
        await scalar(db, "SELECT count(*) FROM conversation_messages WHERE client_message_id = :s", s=sid)
        == 1
    )


async def test_two_tenants_on_two_numbers_and_a_number_nobody_owns(db, make_tenant, settings):
    first, second = await make_tenant(name="Harbor Dental"), await make_tenant(name="Hilltop Physio")
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        first_number = await phones.add_number(first.auth)
        second_number = await phones.add_number(second.auth)
        taken = await phones.web.post(
            "/api/v1/phone-numbers", headers=second.auth, json={"number": first_number}
        )
        assert taken.status_code == 409
        bad = await phones.web.post("/api/v1/phone-numbers", headers=second.auth, json={"number": "12"})
        assert bad.status_code == 422 and bad.json()["error"]["details"]

        await check_up_in_five_days(db, first, patient)
        assert "Harbor Dental" in await phones.say(patient, first_number, "hello")
        assert "Hilltop Physio" in await phones.say(patient, second_number, "hello")
        # The same phone, at the other practice: it has no appointments there.
        assert "can't find any upcoming appointments" in await phones.say(
            patient, second_number, "when is my appointment?"
        )
        assert "Check-up" in await phones.say(patient, first_number, "when is my appointment?")
        senders = {m.from_ for m in phones.received(patient) if "Hilltop" in m.body}
        assert senders == {second_number}

        nobody = new_phone("646")
        unknown = await phones.text(patient, nobody, "hello")
        assert unknown.status_code == 200 and "isn't set up to receive messages" in unknown.text
        assert "Harbor" not in unknown.text and "Hilltop" not in unknown.text
    assert await scalar(db, "SELECT count(*) FROM inbound_sms WHERE to_number = :n", n=nobody) == 0
    [audited] = await rows(
        db,
        "SELECT tenant_id FROM audit_log WHERE action = 'sms.unknown_number' ORDER BY id DESC LIMIT 1",
    )
    assert audited["tenant_id"] is None
    threads = await rows(
        db,
        "SELECT tenant_id, count(*) AS n FROM conversations WHERE patient_phone = :p GROUP BY tenant_id",
        p=patient,
    )
    assert {str(t["tenant_id"]): t["n"] for t in threads} == {first.id: 1, second.id: 1}


async def test_answers_to_the_patient_are_not_held_by_the_per_number_limit_but_other_texts_are(
    db, tenant, settings
):
    patient = new_phone()
    async with phone_lines(db, settings, sms_rate_limit_count=2) as phones:
        practice = await phones.add_number(tenant.auth)
        for text in ("hi", "what are your opening hours?", "thanks", "hi again"):
            assert await phones.say(patient, practice, text)  # every text is answered at once
        assert len(phones.received(patient)) == 4
        await queue(db, tenant.id, datetime.now(UTC), patient, urgent=True)
        await phones.settle()
        [reminder] = await outbox_of(db, tenant.id, kind="reminder", recipient=patient)
        assert reminder["status"] == "rate_limited" and len(phones.received(patient)) == 4


async def test_a_cancel_and_a_rebook_in_one_text(db, tenant, settings):
    patient = new_phone()
    booked = await check_up_in_five_days(db, tenant, patient)
    day = local_day(7)
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        asked = await phones.say(
            patient,
            practice,
            f"cancel my check-up and book me a cleaning on {day:%B} {day.day} at 2pm instead",
        )
        assert "Cancel your Check-up" in asked and "Reply 1 or 2" in asked
        assert "2:00 PM" not in asked  # the booking waits for the cancel's yes
        both = await phones.say(patient, practice, "yes")
        # What was done and what is asked, with the time (the hold's own sentence gives way to the
        # numbered replies when one text cannot hold everything).
        assert "is cancelled" in both and f"on {day:%a, %b} {day.day} at 2:00 PM" in both
        assert "\n1) Yes, book it" in both
        # The patient is who their phone and their cancelled booking say: only the yes is asked.
        assert "Shall I book it?" in both and "What name" not in both
        done = await phones.say(patient, practice, "yes")
        assert "You're booked!" in done

    found = await rows(
        db,
        "SELECT a.reference, a.status, a.starts_at, s.name AS service FROM appointments a "
        "JOIN services s ON s.id = a.service_id WHERE a.tenant_id = :t ORDER BY a.created_at",
        t=tenant.id,
    )
    assert [(f["reference"] == booked.reference, f["service"], f["status"]) for f in found] == [
        (True, "Check-up", "cancelled"),
        (False, "Cleaning", "booked"),
    ]
    assert found[1]["starts_at"] == at(day, "14:00")
