"""A keypad-only caller can do what a speaking caller can: a withheld number keys in the booking
reference (each letter as the key it is on) and the phone number on it, ended with #, and moves
or cancels the visit (signed webhooks, the real app)."""

from __future__ import annotations

from backend.scheduling.keyed_references import KEYPAD
from tests.conftest import at, local_day
from tests.support.db import rows
from tests.support.messaging import book_at, new_phone
from tests.support.phone import phone_lines
from tests.telephony.test_twilio_voice import Caller


def keys(reference: str) -> str:
    return "".join(next((key for key, letters in KEYPAD.items() if c in letters), c) for c in reference)


def _keyed(call: Caller) -> bool:
    gather = call.gather
    assert gather is not None
    return gather.attrib.get("finishOnKey") == "#" and "numDigits" not in gather.attrib


async def _visit(db, visit_id) -> dict:
    [row] = await rows(db, "SELECT status, starts_at FROM appointments WHERE id = :i", i=visit_id)
    return row


async def test_a_withheld_caller_moves_then_cancels_with_the_keypad_alone(db, tenant, settings):
    patient = new_phone()
    visit = await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(9), "11:00"),
        at(local_day(0), "00:01"),
        phone=patient,
        name="Maria Lopez",
    )
    async with phone_lines(db, settings) as phones:
        practice = await phones.add_number(tenant.auth)
        move = Caller(phones, practice, "anonymous")
        await move.dial()
        await move.say(digits="2")  # reschedule
        assert "key it in" in move.heard and "hash key" in move.heard and _keyed(move), move.heard
        await move.say(digits=keys(visit.reference))
        assert "key in the phone number" in move.heard and _keyed(move), move.heard
        await move.say(digits=patient.removeprefix("+1"))
        assert "option one" in move.heard.lower() and not _keyed(move), move.heard
        await move.say(digits="1")
        assert "Shall I move" in move.heard
        await move.say(digits="1")
        assert "Done!" in move.heard, move.heard
        moved = await _visit(db, visit.id)
        assert moved["status"] == "booked" and moved["starts_at"] != at(local_day(9), "11:00")

        cancel = Caller(phones, practice, "anonymous")
        await cancel.dial()
        for pressed in ("3", keys(visit.reference), patient.removeprefix("+1")):
            await cancel.say(digits=pressed)
        assert "Cancel your Check-up" in cancel.heard, cancel.heard
        await cancel.say(digits="1")
        assert "is cancelled" in cancel.heard
    assert (await _visit(db, visit.id))["status"] == "cancelled"


async def test_keyed_in_keys_prove_nothing_without_the_contact_on_the_booking(db, tenant, settings):
    visit = await book_at(
        db,
        tenant.id,
        tenant.services["Check-up"],
        at(local_day(9), "11:00"),
        at(local_day(0), "00:01"),
        phone=new_phone(),
    )
    async with phone_lines(db, settings) as phones:
        call = Caller(phones, await phones.add_number(tenant.auth), "anonymous")
        await call.dial()
        for pressed in ("3", keys(visit.reference), new_phone().removeprefix("+1")):
            await call.say(digits=pressed)
        assert "couldn't find a booking with that reference and contact" in call.heard, call.heard
    assert (await _visit(db, visit.id))["status"] == "booked"
