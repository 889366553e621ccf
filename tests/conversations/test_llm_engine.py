"""The language model as the reader of messages, against a local OpenAI-compatible server: it
produces dialogue acts, the same manager, policy and confirmations carry them out.

The real `openai` SDK, real policy, real database.
"""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from backend.conversations.receptionist import build_agent
from tests.conftest import at, local_day
from tests.fakes.openai_server import acts, running_fake_openai, text
from tests.support.chat import open_chat
from tests.support.db import rows


@pytest.fixture
async def fake_openai():
    async with running_fake_openai() as fake:
        yield fake


def llm_agent(settings, fake, **overrides):
    options = {
        "llm_api_key": SecretStr("sk-test"),
        "llm_base_url": fake.base_url,
        "llm_model": "scripted-model",
        "llm_timeout_seconds": 2,
        "llm_max_attempts": 2,
        **overrides,
    }
    return build_agent(settings.model_copy(update=options))


def service_id(body, name):
    """The id the system prompt gives a service: the model reads it from there."""
    prompt = body["messages"][0]["content"]
    return prompt.split(f"- {name} (id ", 1)[1].split(",", 1)[0]


async def appointments(db, tenant_id):
    return await rows(db, "SELECT status, starts_at FROM appointments WHERE tenant_id = :t", t=tenant_id)


async def test_the_models_acts_book_through_the_same_manager_and_confirmation(
    db, tenant, settings, fake_openai
):
    tomorrow = local_day(4)
    fake_openai.script = [
        lambda body: acts(
            {
                "kind": "book",
                "said": "Can I get a check-up tomorrow at 1pm?",
                "service_id": service_id(body, "Check-up"),
                "date_from": tomorrow.isoformat(),
                "time": "13:00",
                "name": "Jane Doe",
                "email": "jane@example.com",
            }
        ),
        lambda body: acts({"kind": "frame", "said": "yes", "yes": True}),
    ]
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    asked = await chat.say("Hi, I'm Jane Doe (jane@example.com). Can I get a check-up tomorrow at 1pm?")
    assert "I'm holding" in asked and "Please confirm: Check-up on" in asked and "1:00 PM" in asked
    assert await appointments(db, tenant.id) == []

    booked = await chat.say("yes")
    [appointment] = await appointments(db, tenant.id)
    assert "You're booked" in booked and appointment["starts_at"] == at(tomorrow, "13:00")
    decisions = await rows(
        db,
        "SELECT action, details->>'rule' AS rule FROM audit_log "
        "WHERE tenant_id = :t AND entity_id = 'confirm_booking' ORDER BY id",
        t=tenant.id,
    )
    assert [(d["action"], d["rule"]) for d in decisions] == [
        ("policy.denied", "booking.explicit_confirmation"),
        ("policy.allowed", "tool.confirm_booking"),
    ]
    first = fake_openai.requests[0]
    assert first["model"] == "scripted-model"
    assert [t["function"]["name"] for t in first["tools"]] == ["record_acts"]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "record_acts"}}


async def test_a_models_yes_in_the_same_message_as_a_cancel_does_not_cancel(
    db, tenant, settings, fake_openai
):
    """The policy wants the yes in a later message than the question, whoever read the words."""
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.hold_with_details(contact="jane@example.com")
    await chat.say("yes")
    reference = chat.card["reference"]
    fake_openai.script = [
        lambda body: acts(
            {"kind": "existing", "topic": "cancel", "said": "cancel it", "reference": reference, "yes": True}
        )
    ]
    chat.turns.agent = llm_agent(settings, fake_openai)
    reply = await chat.say(f"cancel {reference}, yes I'm sure")
    assert "Cancel your Check-up" in reply
    [appointment] = await appointments(db, tenant.id)
    assert appointment["status"] == "booked"


async def test_acts_are_validated_like_the_rules_ones(db, tenant, settings, fake_openai):
    """A service id the clinic does not have, a past day, an option not on offer: dropped, so the
    manager asks for what is missing instead of acting on it."""
    fake_openai.script = [
        lambda body: acts(
            {
                "kind": "book",
                "said": "book me in",
                "service_id": "not-a-service",
                "date_from": "2001-01-01",
                "option": 9,
            }
        )
    ]
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    assert "Which service would you like to book?" in await chat.say("book me in")


async def test_a_malformed_answer_is_asked_again_then_the_rules_read_it(db, tenant, settings, fake_openai):
    fake_openai.script = [
        lambda body: acts({"kind": "delete_all_bookings"}),
        lambda body: acts({"kind": "answer", "topic": "hours", "said": "when are you open?"}),
    ]
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    assert "9:00 AM-12:00 PM" in await chat.say("when are you open?")
    retry = fake_openai.requests[1]["messages"]
    assert retry[-1]["role"] == "tool" and "error" in json.loads(retry[-1]["content"])

    fake_openai.script = [lambda body: acts({"kind": "nonsense"}), lambda body: text("no tools today")]
    assert "9:00 AM-12:00 PM" in await chat.say("what are your hours?")  # the rules read it


@pytest.mark.parametrize(
    "failure",
    [lambda body: 500, lambda body: 429, lambda body: 3.0, lambda body: {"role": "assistant", "content": ""}],
    ids=["server-error", "rate-limited", "timeout", "empty-answer"],
)
async def test_provider_trouble_falls_back_to_the_rules(db, tenant, settings, fake_openai, failure):
    fake_openai.script = [failure, failure]
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    reply = await chat.say("what are your opening hours?")
    assert "9:00 AM-12:00 PM" in reply


async def test_a_tapped_quick_reply_is_not_sent_to_the_model(db, tenant, settings, fake_openai):
    fake_openai.script = [
        lambda body: acts(
            {
                "kind": "book",
                "said": "check-up tomorrow afternoon",
                "service_id": service_id(body, "Check-up"),
                "date_from": local_day(4).isoformat(),
                "part_of_day": "afternoon",
            }
        )
    ]
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    await chat.say("check-up tomorrow afternoon")
    held = await chat.tap(chat.time_chips[0]["label"])
    assert "I'm holding" in held and len(fake_openai.requests) == 1
