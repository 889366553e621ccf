"""The receptionist this deployment runs, built from the settings: the agent (the deterministic
engine, with a language model when one is configured) and the turn runner every channel shares."""

from __future__ import annotations

import threading

from openai import AsyncOpenAI

from agent.llm import LlmConfig, LlmPlanner
from agent.loop import Agent
from agent.triage_opinion import OPINION_TIMEOUT_SECONDS, TriageOpinion
from backend.conversations.live import Live
from backend.conversations.turn_gate import TurnGate
from backend.conversations.turns import Turns
from backend.core.db import Database
from backend.core.settings import Settings
from policy import triage


def build_agent(settings: Settings) -> Agent:
    """The agent this server runs: the deterministic engine, with a language model when one is configured."""
    if settings.llm_api_key is None:
        return Agent()
    config = LlmConfig(
        api_key=settings.llm_api_key.get_secret_value(),
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        timeout_seconds=settings.llm_timeout_seconds,
        max_attempts=settings.llm_max_attempts,
    )
    client = AsyncOpenAI(
        api_key=config.api_key, base_url=config.base_url, timeout=config.timeout_seconds, max_retries=0
    )
    opinion = TriageOpinion(client, config.model, min(config.timeout_seconds, OPINION_TIMEOUT_SECONDS))
    return Agent(LlmPlanner(client, config), opinion)


def build_turns(db: Database, settings: Settings, live: Live | None = None) -> Turns:
    # Triage's classifier trains once per process; in the background, so no patient waits for it.
    threading.Thread(target=triage.warm_up, name="triage-warm-up", daemon=True).start()
    return Turns(
        db,
        build_agent(settings),
        settings.chat_turn_lease_seconds,
        settings.chat_max_message_chars,
        settings.chat_messages_per_minute,
        live=live,
        gate=TurnGate(settings.chat_max_pending_messages),
        public_base_url=settings.public_base_url,
    )
