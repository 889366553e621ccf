"""Every log line goes through the redaction audit rows get: a provider's error text names the number
it failed to text, and the log must not."""

from __future__ import annotations

import io
import logging
import re

import pytest

from backend.core import logs
from backend.messaging.senders import Envelope
from backend.messaging.senders.log import LogSender
from tests.fakes.twilio_server import running_fake_twilio
from tests.support.messaging import daytime, dispatcher_for, new_phone, outbox_of, provider_settings, queue


async def test_a_failing_text_leaves_no_digit_of_the_number_in_the_log(db, tenant, settings):
    stream = io.StringIO()
    handler = logs.redacting_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        invalid = new_phone()
        async with running_fake_twilio() as twilio:
            twilio.failing_numbers = {invalid: 21211}
            async with dispatcher_for(db, provider_settings(settings, twilio, None)) as dispatcher:
                await queue(db, tenant.id, daytime(), invalid)
                await dispatcher.drain(daytime())
    finally:
        root.removeHandler(handler)
    [row] = await outbox_of(db, tenant.id, recipient=invalid)
    assert invalid in row["error"]  # the provider did name it: the log is what must not
    written = stream.getvalue()
    assert "send of" in written and "not a valid phone number" in written
    digits = invalid.lstrip("+")
    assert digits not in written and digits[-7:] not in written and digits[-4:] not in written
    assert not re.search(r"number \+?\d", written)


PHONE_FORMS = ["617/555/0177", "6175550177x", "tel6175550177", "+1 (617) 555-0177", "617.555.0177"]
EMAIL_FORMS = ["a@[10.1.2.3]", "a@example.c", "jane.doe@example.com", '"jd"@clinic.example']


def _captured(handler_factory, log_name: str, *lines: tuple[str, tuple]) -> str:
    stream = io.StringIO()
    handler = handler_factory(stream)
    logger = logging.getLogger(log_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for message, args in lines:
            logger.info(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize("handler_factory", [logs.redacting_handler, logs.json_handler])
def test_every_phone_and_email_form_the_api_accepts_leaves_no_digit_and_no_address(handler_factory):
    lines = [("could not text %s", (phone,)) for phone in PHONE_FORMS]
    lines += [("could not mail %s", (email,)) for email in EMAIL_FORMS]
    written = _captured(handler_factory, "frontdesk.test.forms", *lines)
    texted = re.findall(r"could not text ([^\n\"]*)", written)
    mailed = re.findall(r"could not mail ([^\n\"]*)", written)
    assert len(texted) == len(PHONE_FORMS) and len(mailed) == len(EMAIL_FORMS), written
    assert not any(ch.isdigit() for phone in texted for ch in phone), texted
    assert all(address.startswith("***@") for address in mailed), mailed


def test_patient_searches_leave_no_query_value_in_the_access_log():
    access = logging.getLogger("uvicorn.access.test")
    access.addFilter(logs.RedactAccessLog())
    try:
        written = _captured(
            logs.redacting_handler,
            "uvicorn.access.test",
            *[
                ('%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5000", "GET", path, "1.1", 200))
                for path in (
                    "/api/v1/customers?q=Jane+Doe&limit=20",
                    "/api/v1/bookings?phone=617%2F555%2F0177&email=jane%40example.c&from=2026-12-01",
                    "/app/patients?q=Dupont",
                    "/app/reset/s3cr3t-token",
                )
            ],
        )
    finally:
        access.filters.clear()
    assert "Jane" not in written and "Dupont" not in written and "jane" not in written
    assert "617" not in written and "s3cr3t" not in written
    assert "/api/v1/customers?q=…&limit=20" in written  # what is not personal stays readable
    assert "phone=…&email=…&from=2026-12-01" in written


async def test_the_log_provider_writes_neither_the_address_nor_the_text():
    envelope = Envelope(
        message_id="m1",
        channel="email",
        recipient="jane.doe@example.c",
        subject="Your visit",
        body="Hi Jane Doe, you're booked for a filling on Tuesday.",
    )
    stream = io.StringIO()
    handler = logs.redacting_handler(stream)
    logger = logging.getLogger("frontdesk.outbox.log_provider")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        await LogSender().send(envelope)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "email m1 to ***@example.c" in written
    assert "jane" not in written.lower() and "filling" not in written
