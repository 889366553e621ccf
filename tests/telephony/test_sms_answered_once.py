"""Every text a patient sends is answered once, even when the process answering it dies mid-turn:
the text is taken up again, and a stored message whose turn stored no reply gets its turn. Only a
conversation a member of staff has taken over leaves a text to them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from tests.fakes.openai_server import running_fake_openai
from tests.support.db import rows, scalar
from tests.support.messaging import new_phone
from tests.support.phone import new_sid, phone_lines


async def test_a_text_whose_turn_died_midway_is_answered_when_taken_up_again(db, tenant, settings):
    patient = new_phone()
    sid = new_sid()
    async with running_fake_openai() as model:
        # The model is slow the first time (the process dies meanwhile), then fails: the rules answer.
        model.script = [lambda body: 3.0, lambda body: 500]
        llm = {"llm_api_key": SecretStr("sk-test"), "llm_base_url": model.base_url, "llm_timeout_seconds": 10}
        async with phone_lines(db, settings, **llm) as phones:
            practice = await phones.add_number(tenant.auth)
            assert (
                await phones.text(patient, practice, "Hi, can I book a check-up?", sid=sid)
            ).status_code == 200
            turn = asyncio.create_task(phones.inbox.process_due(datetime.now(UTC)))
            for _ in range(400):  # until the turn has stored the text and asked the model
                if model.requests:
                    break
                await asyncio.sleep(0.05)
            turn.cancel()  # the process answering it is gone
            await asyncio.gather(turn, return_exceptions=True)
            [stored] = await rows(
                db, "SELECT conversation_id FROM conversation_messages WHERE client_message_id = :s", s=sid
            )
            assert (
                await scalar(
                    db,
                    "SELECT count(*) FROM conversation_messages"
                    " WHERE conversation_id = :c AND role = 'assistant'",
                    c=stored["conversation_id"],
                )
                == 0
            )

            # Later, the dead process's leases have run out; another worker takes the text up again.
            await scalar(
                db,
                "UPDATE conversations SET turn_lease_until = now() - interval '1 second' WHERE id = :c"
                " RETURNING 1",
                c=stored["conversation_id"],
            )
            later = datetime.now(UTC) + timedelta(seconds=settings.inbound_sms_lease_seconds + 1)
            assert await phones.inbox.process_due(later) == 1
            await phones.dispatcher.drain(later)
            [answer] = phones.received(patient)
            assert answer.body

    [row] = await rows(db, "SELECT status, handling FROM inbound_sms WHERE message_sid = :s", s=sid)
    assert (row["status"], row["handling"]) == ("answered", "turn")
