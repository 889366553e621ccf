"""Everything that follows a booking works for one from the clinic's own system: reminders and a
"C" reply, the patient moving or cancelling it by text (done by the receptionist, or passed to the
staff, as the clinic chooses), no-show and review messages, and waitlist offers when it is cancelled."""

from __future__ import annotations

from backend.scheduling import attendance
from tests.conftest import at, local_day
from tests.messaging.test_lifecycle import add_to_waitlist, noon
from tests.support.db import booking_transaction, caller_for, rows, scalar
from tests.support.external import SOURCE, appointment, events_of, run_all_due, set_tenant, upsert_at
from tests.support.messaging import actions_of, new_phone, outbox_of, runner_for
from tests.support.phone import option, phone_lines


async def imported_and_reminded(db, tenant, phones, patient):
    """Their appointment in five days at 11:00, its 48-hour reminder sent from the practice number."""
    practice = await phones.add_number(tenant.auth)
    visit = appointment(
        tenant, at(local_day(5), "11:00"), phone=patient, service_id=tenant.services["Check-up"]
    )
    made = await upsert_at(db, tenant, "S-1", visit, at(local_day(0), "00:01"))
    moment = at(local_day(3), "11:00")
    await run_all_due(runner_for(db, phones.config), moment)
    await phones.dispatcher.drain(moment)
    [reminder] = phones.received(patient)
    assert "Reply C to confirm or R to reschedule" in reminder.body
    return practice, made.appointment


async def test_reminders_and_a_c_reply_for_an_imported_appointment(db, tenant, settings):
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice, booked = await imported_and_reminded(db, tenant, phones, patient)
        assert "is confirmed" in await phones.say(patient, practice, "C")
    assert await scalar(db, "SELECT status FROM appointments WHERE id = :i", i=booked.id) == "confirmed"
    [confirmed] = [e for e in await events_of(db, tenant) if e["type"] == "booking.confirmed"]
    assert (confirmed["data"]["source"], confirmed["data"]["external_id"], confirmed["data"]["via"]) == (
        SOURCE,
        "S-1",
        "sms",
    )
    # Their system sends the appointment again, not knowing of the "C": the patient's word stays.
    visit = appointment(
        tenant, at(local_day(5), "11:00"), phone=patient, version=2, service_id=tenant.services["Check-up"]
    )
    again = await upsert_at(db, tenant, "S-1", visit, noon(1))
    assert again.result == "unchanged" and again.appointment.status == "confirmed"


async def test_a_patient_moves_an_imported_appointment_by_text_and_their_system_is_told(
    client, db, tenant, settings
):
    await set_tenant(client, tenant, external_patient_changes="receptionist")
    patient = new_phone()
    async with phone_lines(db, settings) as phones:
        practice, booked = await imported_and_reminded(db, tenant, phones, patient)
        offered = await phones.say(patient, practice, "R")
        assert "Here are the first free times I can move it to" in offered
        await phones.say(patient, practice, "1")
        chosen = option(offered, 1)
        moved = await phones.say(patient, practice, "1")
        assert "Done!" in moved and booked.reference in moved
    [row] = await rows(db, "SELECT starts_at, status FROM appointments WHERE id = :i", i=booked.id)
    assert row["starts_at"] != booked.starts_at and row["status"] == "booked"
    # What their system reads (events API, and every webhook): the move, with their id for it.
    events = await client.get("/api/v1/events", params={"types": "booking.rescheduled"}, headers=tenant.auth)
    [event] = events.json()["data"]
    assert (event["data"]["source"], event["data"]["external_id"]) == (SOURCE, "S-1")
    assert event["data"]["previous_starts_at"].startswith(str(local_day(5))) and chosen


async def test_a_patient_asking_to_move_or_cancel_reaches_the_staff_when_the_clinic_wants(
    db, tenant, settings
):
    patient = new_phone()  # the default: the clinic's staff make changes to their system's appointments
    async with phone_lines(db, settings) as phones:
        practice, booked = await imported_and_reminded(db, tenant, phones, patient)
        offered = await phones.say(patient, practice, "R")
        await phones.say(patient, practice, "1")
        passed = await phones.say(patient, practice, "1")
        assert "asked the team to move it to" in passed and option(offered, 1) in passed
        assert "They'll confirm with you here" in passed
        asked = await phones.say(patient, practice, "cancel my appointment")
        assert "Cancel your" in asked
        assert "asked the team to cancel it" in await phones.say(patient, practice, "yes")
    [row] = await rows(db, "SELECT starts_at, status FROM appointments WHERE id = :i", i=booked.id)
    assert (row["starts_at"], row["status"]) == (booked.starts_at, "booked")  # nothing changed here
    [thread] = await rows(db, "SELECT status FROM conversations WHERE tenant_id = :t", t=tenant.id)
    assert thread["status"] == "needs_human"
    # The staff see the request in the inbox: the conversation waits for them, with what was asked.
    said = await rows(
        db,
        "SELECT m.body FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.tenant_id = :t AND m.role = 'assistant' ORDER BY m.seq",
        t=tenant.id,
    )
    assert sum("I've asked the team" in m["body"] for m in said) == 2
    assert [e["type"] for e in await events_of(db, tenant)] == ["booking.created"]


async def test_no_show_review_request_and_waitlist_offer_for_imported_appointments(
    client, db, tenant, settings
):
    await set_tenant(client, tenant, review_link="https://reviews.example.org/clinic")
    now = noon(1)
    runner = runner_for(db, settings)
    # Marked completed in their system: a review request follows, as for ours.
    visit = appointment(tenant, at(local_day(1), "09:00"), phone=new_phone())
    await upsert_at(db, tenant, "V-1", visit, now)
    await upsert_at(db, tenant, "V-1", {**visit, "version": 2, "status": "completed"}, now)
    [review] = await actions_of(db, tenant.id, "send_review_request")
    await run_all_due(runner, review["due_at"])
    assert len(await outbox_of(db, tenant.id, kind="review_request", channel="sms")) == 1

    # Marked a no-show here (as staff do from the schedule): the rebooking message.
    missed = await upsert_at(
        db, tenant, "V-2", appointment(tenant, at(local_day(1), "10:00"), phone=new_phone()), now
    )
    after = at(local_day(1), "11:00")
    caller = await caller_for(db, tenant.id)
    marked = await booking_transaction(
        db,
        caller,
        lambda s: attendance.record_attendance(s, caller, str(missed.appointment.id), "no_show", after),
    )
    assert (marked.status, marked.source) == ("no_show", SOURCE)
    await run_all_due(runner, after)
    assert len(await outbox_of(db, tenant.id, kind="no_show", channel="sms")) == 1

    # Cancelled in their system: the freed time is offered to the waiting list.
    day = local_day(4)
    waiting = new_phone()
    slot = appointment(tenant, at(day, "10:00"), phone=new_phone(), service_id=tenant.services["Check-up"])
    await upsert_at(db, tenant, "V-3", slot, now)
    await add_to_waitlist(db, tenant.id, tenant.services["Check-up"], day, None, waiting)
    await upsert_at(db, tenant, "V-3", {**slot, "version": 2, "status": "cancelled"}, now)
    await run_all_due(runner, now)
    [offer] = await outbox_of(db, tenant.id, kind="waitlist_offer", channel="sms")
    assert offer["recipient"] == waiting
    assert "cancelled" in [e["data"]["status"] for e in await events_of(db, tenant)]
