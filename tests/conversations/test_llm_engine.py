"""The language-model planner against a local OpenAI-compatible server.

The real `openai` SDK, real tools, real policy, real database.
"""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from backend.conversations.receptionist import build_agent
from policy.engine import CHAT_TOOLS
from tests.conftest import at, local_day
from tests.fakes.openai_server import last_tool_result, running_fake_openai, text, tool_call
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
        "llm_max_tool_iterations": 4,
        **overrides,
    }
    return build_agent(settings.model_copy(update=options))


async def test_a_model_that_books_at_once_is_refused_until_the_patient_says_yes(
    db, tenant, settings, fake_openai
):
    now = at(local_day(3), "08:00")
    tomorrow = local_day(4).isoformat()

    def book(body, hold_id):
        return tool_call(
            "confirm_booking", {"hold_id": hold_id, "name": "Jane Doe", "email": "jane@example.com"}
        )

    fake_openai.script = [
        lambda body: tool_call("list_services", {}),
        lambda body: tool_call(
            "check_availability",
            {
                "service_id": next(
                    s["id"] for s in last_tool_result(body)["services"] if s["name"] == "Check-up"
                ),
                "date_from": tomorrow,
                "part_of_day": "afternoon",
            },
        ),
        lambda body: tool_call(
            "hold_slot",
            {
                "service_id": tenant.services["Check-up"],
                "starts_at": last_tool_result(body)["slots"][0]["starts_at"],
            },
        ),
        # The model books straight away, without asking: the policy refuses, the patient is asked.
        lambda body: book(body, last_tool_result(body)["hold_id"]),
        # Next turn, after the patient's yes: the same call again.
        lambda body: book(
            body, re.search(r"hold_id ([0-9a-f-]{36})", body["messages"][0]["content"]).group(1)
        ),
        lambda body: text(f"Booked! Your reference is {last_tool_result(body)['reference']}."),
    ]
    chat = await open_chat(db, tenant.id, now, agent=llm_agent(settings, fake_openai))
    asked = await chat.say("Hi, I'm Jane Doe (jane@example.com). Can I get a check-up tomorrow afternoon?")
    assert asked.startswith("Please confirm: Check-up on") and "1:00 PM" in asked and "Jane Doe" in asked
    assert asked.endswith("Shall I book it?") and [c["value"] for c in chat.chips] == ["yes", "no"]
    assert await rows(db, "SELECT id FROM appointments WHERE tenant_id = :t", t=tenant.id) == []

    booked = await chat.say("yes")
    [appointment] = await rows(
        db, "SELECT reference, status FROM appointments WHERE tenant_id = :t", t=tenant.id
    )
    assert booked == f"Booked! Your reference is {appointment['reference']}."
    assert chat.card["reference"] == appointment["reference"]
    decisions = await rows(
        db,
        "SELECT action, details->>'rule' AS rule, details->>'reason' AS reason FROM audit_log "
        "WHERE tenant_id = :t AND entity_id = 'confirm_booking' ORDER BY id",
        t=tenant.id,
    )
    assert [(d["action"], d["rule"]) for d in decisions] == [
        ("policy.denied", "booking.explicit_confirmation"),
        ("policy.allowed", "tool.confirm_booking"),
    ]
    first_request = fake_openai.requests[0]
    assert first_request["model"] == "scripted-model"
    assert {t["function"]["name"] for t in first_request["tools"]} == CHAT_TOOLS


async def test_an_unknown_tool_is_refused_and_nothing_runs(db, tenant, settings, fake_openai):
    fake_openai.script = [
        lambda body: tool_call("delete_all_bookings", {"confirm": True}),
        lambda body: text("Sorry, I can't do that."),
    ]
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    assert await chat.say("delete everything") == "Sorry, I can't do that."
    refusal = last_tool_result(fake_openai.requests[1])
    assert refusal == {
        "error": "denied_by_policy",
        "rule": "tools.closed_set",
        "reason": "'delete_all_bookings' is not one of the receptionist's tools",
    }
    audit = await rows(
        db, "SELECT action, entity_id FROM audit_log WHERE tenant_id = :t AND actor LIKE 'conv%'", t=tenant.id
    )
    assert audit == [{"action": "policy.denied", "entity_id": "delete_all_bookings"}]


async def test_policy_holds_for_the_model_too(db, tenant, settings, fake_openai):
    """A model that skips the question and cancels at once is refused by the same rule."""
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"))
    await chat.hold_with_details(contact="jane@example.com")
    await chat.say("yes")
    reference = chat.card["reference"]
    fake_openai.script = [
        lambda body: tool_call("cancel_booking", {"reference": reference}),
        lambda body: text(f"Do you really want to cancel? ({last_tool_result(body)['rule']})"),
    ]
    chat.turns.agent = llm_agent(settings, fake_openai)
    reply = await chat.say("cancel my appointment")
    assert reply == "Do you really want to cancel? (cancel.explicit_confirmation)"
    [appointment] = await rows(db, "SELECT status FROM appointments WHERE tenant_id = :t", t=tenant.id)
    assert appointment["status"] == "booked"


@pytest.mark.parametrize(
    "failure",
    [lambda body: 500, lambda body: 429, lambda body: 3.0, lambda body: {"role": "assistant", "content": ""}],
    ids=["server-error", "rate-limited", "timeout", "empty-answer"],
)
async def test_provider_trouble_falls_back_to_the_deterministic_engine(
    db, tenant, settings, fake_openai, failure
):
    fake_openai.script = [failure]
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    reply = await chat.say("what are your opening hours?")
    assert reply.startswith("Sorry, my assistant is having trouble")
    assert "9:00 AM-12:00 PM" in reply


async def test_tool_iterations_per_turn_are_bounded(db, tenant, settings, fake_openai):
    fake_openai.script = [lambda body: tool_call("list_services", {})]
    fake_openai.repeat_last = True
    chat = await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake_openai))
    reply = await chat.say("hello")
    assert "too many steps" in reply
    assert len(fake_openai.requests) == 4
