"""The language-model reader: any OpenAI-compatible chat endpoint reads a patient's message into the
same dialogue acts the rules produce (structured output through one forced function,
`record_acts`), and the same manager, policy engine and confirmations carry them out. The model
never calls a booking tool. A turn is one request (a malformed answer is asked again, up to
`max_attempts`), bounded in time; the caller falls back to the rules when this raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openai import AsyncOpenAI

from agent import llm_acts
from agent.ports import PracticeInfo
from agent.replies import when_label
from agent.state import ConversationState
from agent.understanding import Act, Context

RECORD_ACTS = "record_acts"


@dataclass(frozen=True)
class LlmConfig:
    api_key: str
    model: str
    base_url: str | None = None
    timeout_seconds: float = 20.0
    max_attempts: int = 2


class LlmUnavailable(Exception):
    pass


@dataclass(frozen=True)
class HistoryMessage:
    role: str  # "patient" | "assistant"
    text: str


class LlmPlanner:
    def __init__(self, client: AsyncOpenAI, config: LlmConfig) -> None:
        self.client = client
        self.config = config

    async def understand(
        self,
        practice: PracticeInfo,
        state: ConversationState,
        context: Context,
        history: list[HistoryMessage],
        text: str,
        now: datetime,
    ) -> list[Act]:
        """The acts of `text`, validated against the practice; LlmUnavailable when the model does
        not give valid ones."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(practice, state, now)}]
        messages += [
            {"role": "user" if m.role == "patient" else "assistant", "content": m.text} for m in history[-20:]
        ]
        messages.append({"role": "user", "content": text})
        problem = "no answer"
        for _ in range(self.config.max_attempts):
            try:
                completion = await self.client.chat.completions.create(
                    model=self.config.model,
                    messages=messages,
                    tools=[_TOOL],
                    tool_choice={"type": "function", "function": {"name": RECORD_ACTS}},
                )
            except Exception as error:  # timeouts, HTTP errors, malformed answers: all mean "fall back"
                raise LlmUnavailable(type(error).__name__) from error
            if not completion.choices:
                raise LlmUnavailable("empty completion")
            message = completion.choices[0].message
            call = next((c for c in message.tool_calls or [] if c.function.name == RECORD_ACTS), None)
            if call is None:
                problem = "the model did not record acts"
                messages.append({"role": "assistant", "content": message.content or ""})
                messages.append(
                    {"role": "user", "content": f"Call {RECORD_ACTS} with the acts of my last message."}
                )
                continue
            try:
                return llm_acts.parse(call.function.arguments or "", context)
            except llm_acts.InvalidActs as error:
                problem = str(error)
                messages.append(_assistant_call(call.id, call.function.arguments or ""))
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"error": problem})}
                )
        raise LlmUnavailable(problem)


_TOOL = {
    "type": "function",
    "function": {
        "name": RECORD_ACTS,
        "description": "Record what the patient's last message asks for, as dialogue acts in the order said.",
        "parameters": llm_acts.schema(),
    },
}


def _assistant_call(call_id: str, arguments: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": RECORD_ACTS, "arguments": arguments}}
        ],
    }


def system_prompt(practice: PracticeInfo, state: ConversationState, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(practice.timezone))
    services = "\n".join(f"- {s.name} (id {s.id}, {s.duration_minutes} min)" for s in practice.services)
    providers = "\n".join(f"- {p.name} (id {p.id})" for p in practice.providers)
    hours = "\n".join(practice.opening_hours)
    return (
        f"You read messages sent to the receptionist of {practice.name}. Today is {local:%A, %B %d, %Y}, "
        f"{local:%H:%M} in {practice.timezone}. Do not answer the patient: call {RECORD_ACTS} with the "
        "dialogue acts of their last message, in the order they say them. Kinds: answer (a question: topic "
        "hours, duration, offered, price or question), existing (a booking they already have: topic lookup, "
        "move or cancel; booking_service_id and booking_date describe which), book (a new booking; topic "
        "another when they already have one), frame (details only: service, day, time, option, yes/no, "
        "name, phone, e-mail), waitlist, not_offered (a service not in the list below, named in subject), "
        "decline (not now, never mind; topic keep when they keep a booking they were asked to cancel), "
        "human, "
        "restart, help, menu, greet, thanks, bye, unknown. Use only the service and provider ids below; "
        "dates as YYYY-MM-DD, times as 24-hour HH:MM. Give a confidence, and an alternative_kind when a "
        "second reading is close. A question the clinic's FAQ answers is an answer act with its faq_id.\n"
        f"Services:\n{services}\nProviders:\n{providers}\nOpening hours:\n{hours}\n{_faq(practice)}"
        + _where(practice, state)
    )


def _faq(practice: PracticeInfo) -> str:
    """The questions of the clinic's FAQ with their ids: the manager says the clinic's own answer, so
    the model never words a price, a plan or a policy itself."""
    if not practice.faq:
        return "The clinic has no FAQ.\n"
    return "FAQ:\n" + "\n".join(f"- {e.id}: {' / '.join(e.questions)}" for e in practice.faq) + "\n"


def _where(practice: PracticeInfo, state: ConversationState) -> str:
    """What is on the table, so a bare "yes" or "the second one" can be read."""
    facts = []
    if state.task:
        facts.append(f"In progress: {state.task}.")
    if state.awaiting:
        facts.append(f"The receptionist last asked for: {state.awaiting}.")
    if state.choices:
        listed = "; ".join(f"{i}) {c.label}" for i, c in enumerate(state.choices, start=1))
        facts.append(f"Options on offer: {listed}.")
    if state.hold is not None:
        facts.append(
            f"Held: {state.hold.service_name} on {when_label(state.hold.starts_at, practice.timezone)}."
        )
    if state.reference:
        facts.append(f"The booking in play has reference {state.reference}.")
    return "\n".join(facts)
