"""The FAQ reaches the receptionist: stored through the API, read by the turn pipeline into the
agent's PracticeInfo, matched against the patient's question (rapidfuzz, agent/faq.py), and shown
to a language model by id, whose request the local OpenAI server sees."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from backend.conversations.receptionist import build_agent
from tests.conftest import at, local_day
from tests.fakes.openai_server import acts, running_fake_openai
from tests.support.chat import open_chat
from tests.support.db import caller_for

PARKING = {
    "questions": ["Where can I park?", "Is there parking?"],
    "answer": "Park behind the building.",
    "position": 2,
}
INSURANCE = {"questions": ["Do you take insurance?"], "answer": "Delta Dental PPO only.", "position": 1}


@pytest.fixture
async def fake_openai():
    async with running_fake_openai() as fake:
        yield fake


async def test_a_turn_answers_from_the_faq_as_it_is_now(db, client, make_tenant):
    clinic, other = await make_tenant(), await make_tenant()
    await client.post("/api/v1/faq", json={**PARKING, "answer": "Other clinic's lot."}, headers=other.auth)
    made = await client.post("/api/v1/faq", json=PARKING, headers=clinic.auth)
    await client.post("/api/v1/faq", json=INSURANCE, headers=clinic.auth)
    chat = await open_chat(db, clinic.id, at(local_day(2), "09:00"))

    assert await chat.say("is there parking near you?") == "Park behind the building."
    assert await chat.say("which insurance do you take?") == "Delta Dental PPO only."

    # A change through the API is what the very next turn knows (every channel reads the clinic
    # afresh for each message, as the chat does here).
    entry = f"/api/v1/faq/{made.json()['id']}"
    changed = await client.patch(entry, json={"answer": "Use the garage next door."}, headers=clinic.auth)
    assert changed.status_code == 200
    chat.caller = await caller_for(db, clinic.id, chat.caller.actor)
    assert await chat.say("and where do I park again?") == "Use the garage next door."
    assert (await client.delete(entry, headers=clinic.auth)).status_code == 204
    chat.caller = await caller_for(db, clinic.id, chat.caller.actor)
    unknown = await chat.say("sorry, parking?")
    assert "member of the team" in unknown and "garage" not in unknown


async def test_a_question_on_the_way_is_answered_and_the_booking_goes_on(db, client, make_tenant):
    clinic = await make_tenant()
    await client.post("/api/v1/faq", json=PARKING, headers=clinic.auth)
    chat = await open_chat(db, clinic.id, at(local_day(2), "08:00"))
    await chat.say("check-up tomorrow afternoon")
    offered = [c["label"] for c in chat.time_chips]
    reply = await chat.say("oh and is there parking?")
    assert reply.startswith("Park behind the building.")
    assert [c["label"] for c in chat.time_chips] == offered  # the times are still on offer
    held = await chat.say("the first one")
    assert "I'm holding" in held and offered[0].split(" at ")[1] in held


async def test_the_model_names_the_entry_and_the_clinic_answers_in_its_own_words(
    db, client, make_tenant, settings, fake_openai
):
    clinic = await make_tenant()
    made = (await client.post("/api/v1/faq", json=PARKING, headers=clinic.auth)).json()
    fake_openai.script = [
        lambda body: acts({"kind": "answer", "topic": "question", "said": "parking?", "faq_id": made["id"]})
    ]
    agent = build_agent(
        settings.model_copy(
            update={
                "llm_api_key": SecretStr("sk-test"),
                "llm_base_url": fake_openai.base_url,
                "llm_model": "scripted-model",
                "llm_timeout_seconds": 2,
            }
        )
    )
    chat = await open_chat(db, clinic.id, at(local_day(2), "09:00"), agent=agent)
    assert await chat.say("anywhere to leave the car?") == "Park behind the building."
    prompt = fake_openai.requests[-1]["messages"][0]["content"]
    assert f"{made['id']}: Where can I park? / Is there parking?" in prompt
    assert "Park behind the building." not in prompt  # the model never words the answer itself
