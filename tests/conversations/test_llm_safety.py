"""With a language model: its words are checked before the patient sees them, and its opinion on a
warning sign can only lead to a question, never to an emergency by itself. The real `openai` SDK
against the scripted local server."""

from __future__ import annotations

import json

import pytest

from policy.replies import SAFE_WORDINGS
from tests.conftest import at, local_day
from tests.conversations.test_llm_engine import llm_agent
from tests.fakes.openai_server import last_tool_result, running_fake_openai, text, tool_call
from tests.support.chat import open_chat
from tests.support.db import rows, scalar

FIGURE_OF_SPEECH = "the bill nearly gave me a heart attack, can I get a cleaning next week?"


@pytest.fixture
async def fake_openai():
    async with running_fake_openai() as fake:
        yield fake


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


@pytest.mark.parametrize(
    ("model_says", "rule"),
    [
        ("Take 400mg of ibuprofen every 6 hours and rinse with salt water.", "replies.medical_advice"),
        ("It sounds like an abscess; that's nothing to worry about.", "replies.medical_advice"),
        ("A check-up costs $85 and we accept all insurance.", "replies.unstated_price"),
        ("We don't charge a cancellation fee.", "replies.unstated_policy"),
        ("Done! You're booked for tomorrow at 3:00 PM. See you then!", "replies.unheld_time"),
    ],
)
async def test_a_model_reply_that_breaks_a_rule_is_replaced_and_audited(
    db, tenant, settings, fake_openai, model_says, rule
):
    fake_openai.script = [lambda body: text(model_says)]
    chat = await model_chat(db, tenant, settings, fake_openai)
    reply = await chat.say("my tooth hurts, can you help? I'd like a check-up tomorrow at 3pm")
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
        lambda body: tool_call(
            "check_availability", {"service_id": tenant.services["Check-up"], "date_from": tomorrow}
        ),
        lambda body: tool_call(
            "hold_slot",
            {
                "service_id": tenant.services["Check-up"],
                "starts_at": last_tool_result(body)["slots"][0]["starts_at"],
            },
        ),
        lambda body: text(f"Great, I'm holding {last_tool_result(body)['label']} for you. What's your name?"),
    ]
    chat = await model_chat(db, tenant, settings, fake_openai)
    reply = await chat.say("a check-up tomorrow please, the first time you have")
    assert reply.startswith("Great, I'm holding") and "9:00 AM" in reply
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
    fake_openai.script = [opinion(True), lambda body: text("Of course. Which day next week suits you?")]
    chat = await model_chat(db, tenant, settings, fake_openai)
    await chat.say(FIGURE_OF_SPEECH)
    reply = await chat.say("No")
    assert (
        reply == "Okay. If it does happen, call 911 straight away.\nOf course. Which day next week suits you?"
    )
    assert fake_openai.requests[-1]["messages"][-1] == {"role": "user", "content": FIGURE_OF_SPEECH}
    flagged = await scalar(db, "SELECT triage_band FROM conversations WHERE id = :c", c=chat.conversation_id)
    assert flagged is None


@pytest.mark.parametrize("model", [opinion(False), lambda body: 500], ids=["says-routine", "unavailable"])
async def test_without_the_models_agreement_a_sign_set_aside_stays_routine(
    db, tenant, settings, fake_openai, model
):
    fake_openai.script = [model, lambda body: text("Of course. Which day next week suits you?")]
    chat = await model_chat(db, tenant, settings, fake_openai)
    reply = await chat.say(FIGURE_OF_SPEECH)
    assert reply == "Of course. Which day next week suits you?"
