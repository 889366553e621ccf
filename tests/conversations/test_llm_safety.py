"""With a language model: its words are checked before the patient sees them, and its opinion on a
warning sign can only lead to a question, never to an emergency by itself. The real `openai` SDK
against the scripted local server."""

from __future__ import annotations

import json

import pytest

from policy.replies import SAFE_WORDINGS
from tests.conftest import at, local_day
from tests.conversations.test_llm_engine import llm_agent, service_id
from tests.fakes.openai_server import acts, running_fake_openai, text
from tests.support.chat import open_chat
from tests.support.db import rows, scalar

FIGURE_OF_SPEECH = "the bill nearly gave me a heart attack, can I get a cleaning next week?"


@pytest.fixture
async def fake_openai():
    async with running_fake_openai() as fake:
        yield fake


# The acts a scripted model reads in FIGURE_OF_SPEECH (whatever they are, the manager answers them).
HOURS = lambda body: acts({"kind": "answer", "topic": "hours", "said": "when are you open?"})  # noqa: E731


def opinion(emergency: bool):
    return lambda body: text(json.dumps({"emergency": emergency}))


async def blocked(db, tenant_id: str) -> list[dict]:
    return await rows(
        db,
        "SELECT details FROM audit_log WHERE tenant_id = :t AND action = 'policy.reply_blocked' ORDER BY id",
        t=tenant_id,
    )


async def model_chat(db, tenant, settings, fake):
    return await open_chat(db, tenant.id, at(local_day(3), "08:00"), agent=llm_agent(settings, fake))


# A model only reads a message into acts, but words of its own can still reach a reply: the service
# it says the patient asked for is named back to them ("I can't find ... among our services").
@pytest.mark.parametrize(
    ("model_says", "rule"),
    [
        ("400mg of ibuprofen every 6 hours and a salt water rinse", "replies.medical_advice"),
        ("an abscess, which is nothing to worry about", "replies.medical_advice"),
        ("a check-up for $85 with all insurance accepted", "replies.unstated_price"),
        ("cancelling without a cancellation fee", "replies.unstated_policy"),
        ("your booking tomorrow at 3:00 PM, which is confirmed", "replies.unheld_time"),
    ],
)
async def test_a_model_reply_that_breaks_a_rule_is_replaced_and_audited(
    db, tenant, settings, fake_openai, model_says, rule
):
    fake_openai.script = [
        lambda body: acts({"kind": "not_offered", "topic": "unknown", "subject": model_says})
    ]
    chat = await model_chat(db, tenant, settings, fake_openai)
    reply = await chat.say("do you do the thing my friend had done last month?")
    assert reply == SAFE_WORDINGS[rule]
    [audited] = await blocked(db, tenant.id)
    assert audited["details"]["rule"] == rule
    stored = await scalar(
        db,
        "SELECT body FROM conversation_messages WHERE conversation_id = :c AND role = 'assistant'",
        c=chat.conversation_id,
    )
    assert stored == SAFE_WORDINGS[rule]  # what the model wrote never reached the thread


async def test_a_model_may_state_the_time_it_actually_holds(db, tenant, settings, fake_openai):
    tomorrow = local_day(4).isoformat()
    fake_openai.script = [
        lambda body: acts(
            {
                "kind": "book",
                "said": "a check-up tomorrow at 9",
                "service_id": service_id(body, "Check-up"),
                "date_from": tomorrow,
                "time": "09:00",
            }
        )
    ]
    chat = await model_chat(db, tenant, settings, fake_openai)
    reply = await chat.say("a check-up tomorrow please, at 9")
    assert "I'm holding" in reply and "9:00 AM" in reply
    assert await blocked(db, tenant.id) == []


async def test_an_emergency_is_decided_by_the_rules_without_asking_the_model(
    db, tenant, settings, fake_openai
):
    chat = await model_chat(db, tenant, settings, fake_openai)
    reply = await chat.say("my wife collapsed and she isn't breathing")
    assert "911" in reply and "I've alerted the clinic" in reply
    assert fake_openai.requests == []


async def test_the_models_opinion_on_a_sign_set_aside_leads_to_a_question_and_a_yes_escalates(
    db, tenant, settings, fake_openai
):
    fake_openai.script = [opinion(True)]
    chat = await model_chat(db, tenant, settings, fake_openai)
    asked = await chat.say(FIGURE_OF_SPEECH)
    assert "911" in asked and asked.endswith("Is this happening right now?")
    assert [c["value"] for c in chat.chips] == ["triage:now", "triage:not_now"]
    assert fake_openai.requests[0]["response_format"] == {"type": "json_object"}
    # A question, not an emergency: nothing is flagged or sent yet.
    flagged = await scalar(db, "SELECT triage_band FROM conversations WHERE id = :c", c=chat.conversation_id)
    assert flagged is None

    escalated = await chat.say("yes")
    assert "I've alerted the clinic" in escalated
    flagged = await scalar(db, "SELECT triage_band FROM conversations WHERE id = :c", c=chat.conversation_id)
    assert flagged == "emergency"
    actions = await rows(
        db,
        "SELECT action, details FROM audit_log WHERE tenant_id = :t AND action LIKE 'triage.%' ORDER BY id",
        t=tenant.id,
    )
    assert [(a["action"], a["details"].get("source")) for a in actions] == [
        ("triage.dismissed", None),
        ("triage.possible", "model opinion"),
        ("triage.answer", None),
        ("triage.emergency", None),
        ("triage.escalated", "patient"),
    ]


async def test_a_no_goes_on_with_what_the_patient_asked(db, tenant, settings, fake_openai):
    fake_openai.script = [opinion(True), HOURS]
    chat = await model_chat(db, tenant, settings, fake_openai)
    await chat.say(FIGURE_OF_SPEECH)
    reply = await chat.say("No")
    first, then = reply.split("\n", 1)
    assert first == "Okay. If it does happen, call 911 straight away."
    assert "9:00 AM-12:00 PM" in then  # the acts the model read in what they first asked
    assert fake_openai.requests[-1]["messages"][-1] == {"role": "user", "content": FIGURE_OF_SPEECH}
    flagged = await scalar(db, "SELECT triage_band FROM conversations WHERE id = :c", c=chat.conversation_id)
    assert flagged is None


@pytest.mark.parametrize("model", [opinion(False), lambda body: 500], ids=["says-routine", "unavailable"])
async def test_without_the_models_agreement_a_sign_set_aside_stays_routine(
    db, tenant, settings, fake_openai, model
):
    fake_openai.script = [model, HOURS]
    chat = await model_chat(db, tenant, settings, fake_openai)
    reply = await chat.say(FIGURE_OF_SPEECH)
    assert "9:00 AM-12:00 PM" in reply and "911" not in reply
