"""Every log line goes through the redaction audit rows get: a provider's error text names the number
it failed to text, and the log must not."""

from __future__ import annotations

import io
import logging
import re

from backend.core import logs
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
