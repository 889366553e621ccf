"""The FAQ reaches the receptionist: stored through the API, read by the turn pipeline into the
agent's PracticeInfo, and given to the language model, whose request the local OpenAI server sees."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from backend.conversations.receptionist import build_agent
from tests.conftest import at, local_day
from tests.fakes.openai_server import running_fake_openai, text
from tests.support.chat import open_chat
from tests.support.db import caller_for

PARKING = {
    "questions": ["Where can I park?", "Is there parking?"],
    "answer": "Park behind the building.",
    "position": 2,
}


@pytest.fixture
async def fake_openai():
    async with running_fake_openai() as fake:
        fake.repeat_last = True
        yield fake


def a_model_that_answers_from_its_prompt(body: dict) -> dict:
    """Answers a parking question with the answer the system prompt gives for parking, if any."""
    prompt = body["messages"][0]["content"]
    found = re.search(r"- Q: [^\n]*park[^\n]*\n  A: ([^\n]+)", prompt, re.IGNORECASE)
    return text(found.group(1) if found else "I'm not sure; let me find a person who knows.")


async def test_a_turn_answers_from_the_faq_as_it_is_now(db, client, make_tenant, settings, fake_openai):
    clinic, other = await make_tenant(), await make_tenant()
    await client.post("/api/v1/faq", json={**PARKING, "answer": "Other clinic's lot."}, headers=other.auth)
    made = await client.post("/api/v1/faq", json=PARKING, headers=clinic.auth)
    insurance = {"questions": ["Do you take insurance?"], "answer": "Delta Dental PPO only.", "position": 1}
    await client.post("/api/v1/faq", json=insurance, headers=clinic.auth)
    fake_openai.script = [a_model_that_answers_from_its_prompt]
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

    assert await chat.say("is there parking near you?") == "Park behind the building."
    prompt = fake_openai.requests[-1]["messages"][0]["content"]
    assert "Where can I park? / Is there parking?" in prompt and "Delta Dental PPO only." in prompt
    assert "Other clinic's lot." not in prompt
    assert prompt.index("Delta Dental") < prompt.index("Park behind"), "in the clinic's list order"

    # A change through the API is what the very next turn knows (every channel reads the clinic
    # afresh for each message, as the chat does here).
    entry = f"/api/v1/faq/{made.json()['id']}"
    changed = await client.patch(entry, json={"answer": "Use the garage next door."}, headers=clinic.auth)
    assert changed.status_code == 200
    chat.caller = await caller_for(db, clinic.id, chat.caller.actor)
    assert await chat.say("and where do I park again?") == "Use the garage next door."
    assert (await client.delete(entry, headers=clinic.auth)).status_code == 204
    chat.caller = await caller_for(db, clinic.id, chat.caller.actor)
    assert "find a person" in await chat.say("sorry, parking?")
    assert "garage" not in fake_openai.requests[-1]["messages"][0]["content"]
