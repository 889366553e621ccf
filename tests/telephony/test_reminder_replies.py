"""Replies to a reminder in the patient's own words, over signed Twilio webhooks answered by the
worker's inbox: what each does to the appointment, what the patient is told, the events."""

from __future__ import annotations

from tests.conftest import at, local_day
from tests.support.db import rows, scalar
from tests.support.messaging import book_at, new_phone, outbox_of, runner_for
from tests.support.phone import phone_lines


async def reminded(db, tenant, phones, hours: list[str]) -> list[tuple[str, object]]:
    """One patient per hour, each booked for a check-up in three days and sent their reminders."""
    booked = []
    for hour in hours:
        patient = new_phone()
        appointment = await book_at(
            db,
            tenant.id,
            tenant.services["Check-up"],
            at(local_day(3), hour),
            at(local_day(0), "00:01"),
            phone=patient,
        )
        booked.append((patient, appointment))
    runner = runner_for(db, phones.config)
    moment = at(local_day(2), "16:00")
    await runner.run_due(moment)
    await phones.dispatcher.drain(moment)
    assert len(await outbox_of(db, tenant.id, kind="reminder", status="sent")) >= len(hours)
    return booked


async def appointment_row(db, appointment_id) -> dict:
    [row] = await rows(
        db,
        "SELECT status, confirmed_at, confirmed_via, late_minutes FROM appointments WHERE id = :id",
        id=appointment_id,
    )
    return row


async def event_data(db, tenant, kind: str, appointment_id) -> list[dict]:
    found = await rows(
        db,
        "SELECT data FROM domain_events WHERE tenant_id = :t AND type = :type AND entity_id = :id",
        t=tenant.id,
        type=kind,
        id=str(appointment_id),
    )
    return [f["data"] for f in found]


async def test_a_confirm_and_a_late_notice_in_own_words(db, client, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        (coming, first), (late, second) = await reminded(db, tenant, phones, ["09:00", "11:00"])

        said = await phones.say(coming, practice, "yes i'll be there, see u then 👍")
        assert "is confirmed" in said
        row = await appointment_row(db, first.id)
        assert row["status"] == "confirmed" and row["confirmed_via"] == "sms" and row["confirmed_at"]
        [confirmed] = await event_data(db, tenant, "booking.confirmed", first.id)
        assert confirmed["via"] == "sms" and confirmed["confirmed_at"]

        noted = await phones.say(late, practice, "running 15 mins late sorry, the bus is slow")
        assert "about 15 minutes late" in noted
        row = await appointment_row(db, second.id)
        assert row["late_minutes"] == 15 and row["status"] == "confirmed"
        [running] = await event_data(db, tenant, "booking.running_late", second.id)
        assert running["minutes_late"] == 15 and running["via"] == "sms"

    # The inbox flags the late patient's conversation, not the other one.
    listed = (
        await client.get("/api/v1/conversations", params={"channel": "sms"}, headers=tenant.auth)
    ).json()
    late_flags = {item["patient"]: item["running_late"] for item in listed["items"]}
    assert late_flags[late]["minutes"] == 15 and late_flags[late]["reference"] == second.reference
    assert late_flags[coming] is None
    [thread] = [item for item in listed["items"] if item["patient"] == late]
    shown = (await client.get(f"/api/v1/conversations/{thread['id']}", headers=tenant.auth)).json()
    assert shown["running_late"]["minutes"] == 15

    handled = await rows(
        db, "SELECT handling FROM inbound_sms WHERE tenant_id = :t ORDER BY received_at", t=tenant.id
    )
    assert [h["handling"] for h in handled] == ["reminder_confirm", "reminder_late"]
    audited = await scalar(
        db,
        "SELECT count(*) FROM audit_log WHERE tenant_id = :t AND action = 'appointment.running_late'",
        t=tenant.id,
    )
    assert audited == 1


async def test_a_cancel_asks_its_yes_and_a_question_is_answered_from_the_booking(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        (leaving, first), (asking, second) = await reminded(db, tenant, phones, ["09:00", "14:00"])

        asked = await phones.say(leaving, practice, "cant make it sorry")
        assert "Cancel your Check-up" in asked
        assert (await appointment_row(db, first.id))["status"] == "booked"  # not before the yes
        done = await phones.say(leaving, practice, "yes")
        assert "is cancelled" in done
        assert (await appointment_row(db, first.id))["status"] == "cancelled"

        told = await phones.say(asking, practice, "what time was it again?")
        assert "2:00 PM" in told and "Reply C to confirm" in told
        assert (await appointment_row(db, second.id))["status"] == "booked"


async def test_an_unclear_reply_is_asked_about_once_with_numbered_options(db, tenant, settings):
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        (puzzled, first), (chooser, second) = await reminded(db, tenant, phones, ["09:00", "10:00"])

        options = await phones.say(puzzled, practice, "hmm")
        assert "What would you like to do?" in options
        assert "1) Confirm" in options and "4) Running late" in options
        again = await phones.say(puzzled, practice, "lol")
        assert "What would you like to do?" not in again  # asked once; now the receptionist reads it
        assert (await appointment_row(db, first.id))["status"] == "booked"

        await phones.say(chooser, practice, "??")
        noted = await phones.say(chooser, practice, "4")
        assert "running late" in noted
        assert (await appointment_row(db, second.id))["late_minutes"] == 0


PARKING = {"questions": ["Where can I park?", "Is there parking?"], "answer": "Park behind the building."}


async def test_a_yes_with_a_question_is_recorded_and_the_question_answered(db, client, tenant, settings):
    assert (await client.post("/api/v1/faq", json=PARKING, headers=tenant.auth)).status_code == 201
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        [(coming, appointment)] = await reminded(db, tenant, phones, ["10:00"])

        said = await phones.say(coming, practice, "yes I'll be there, is there parking?")
        assert "is confirmed" in said and "Park behind the building." in said
        assert "didn't quite get that" not in said  # the yes is settled, not read again
        row = await appointment_row(db, appointment.id)
        assert row["status"] == "confirmed" and row["confirmed_via"] == "sms"
        [confirmed] = await event_data(db, tenant, "booking.confirmed", appointment.id)
        assert confirmed["via"] == "sms"
    [handled] = await rows(db, "SELECT handling FROM inbound_sms WHERE tenant_id = :t", t=tenant.id)
    assert handled["handling"] == "reminder_confirm_question"
