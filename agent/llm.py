"""The language-model planner: any OpenAI-compatible chat endpoint chooses tools by function calling.

The model sees the practice, the conversation so far and the closed tool set; each tool call it makes
goes through the same executor and policy as the deterministic engine's. A turn is bounded in tool
iterations and in time; the caller falls back to the deterministic engine when this raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openai import AsyncOpenAI

from agent.executor import CONFIRMATION_RULES, ToolExecutor, ToolOutcome, booking_card, describe
from agent.ports import BookingInfo, PracticeInfo
from agent.replies import QuickReply, Reply, when_label
from agent.tools import openai_tools


@dataclass(frozen=True)
class LlmConfig:
    api_key: str
    model: str
    base_url: str | None = None
    timeout_seconds: float = 20.0
    max_tool_iterations: int = 6


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

    async def respond(
        self,
        tools: ToolExecutor,
        practice: PracticeInfo,
        history: list[HistoryMessage],
        text: str,
        now: datetime,
    ) -> list[Reply]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": _system_prompt(practice, tools, now)}]
        messages += [
            {"role": "user" if m.role == "patient" else "assistant", "content": m.text} for m in history[-20:]
        ]
        messages.append({"role": "user", "content": text})
        chips: tuple[QuickReply, ...] = ()
        card: dict[str, Any] | None = None
        for _ in range(self.config.max_tool_iterations):
            try:
                completion = await self.client.chat.completions.create(
                    model=self.config.model, messages=messages, tools=openai_tools(), tool_choice="auto"
                )
            except Exception as error:  # timeouts, HTTP errors, malformed answers: all mean "fall back"
                raise LlmUnavailable(type(error).__name__) from error
            if not completion.choices:
                raise LlmUnavailable("empty completion")
            message = completion.choices[0].message
            calls = message.tool_calls or []
            if not calls:
                answer = (message.content or "").strip()
                if not answer:
                    raise LlmUnavailable("the model returned neither text nor tool calls")
                return [Reply(text=answer, quick_replies=chips, card=card)]
            messages.append(
                {
                    "role": "assistant",
                    "content": message.content or "",
                    "tool_calls": [
                        {
                            "id": c.id,
                            "type": "function",
                            "function": {"name": c.function.name, "arguments": c.function.arguments},
                        }
                        for c in calls
                    ],
                }
            )
            for call in calls:
                try:
                    arguments = json.loads(call.function.arguments or "{}")
                except json.JSONDecodeError:
                    arguments = None
                if not isinstance(arguments, dict):
                    result: dict[str, Any] = {
                        "error": "INVALID_ARGUMENTS",
                        "message": "arguments must be a JSON object",
                    }
                else:
                    outcome = await tools.call(call.function.name, arguments)
                    if outcome.denied_by in CONFIRMATION_RULES and outcome.summary is not None:
                        # The patient sees the summary the policy will hold their yes to, word for word.
                        return [confirmation_question(outcome)]
                    result = describe(outcome, practice.timezone)
                    if outcome.ok and outcome.name == "check_availability":
                        # The model reads the tapped label as the patient's words.
                        labels = [when_label(s.starts_at, practice.timezone) for s in outcome.result[:6]]
                        chips = tuple(QuickReply(label, label) for label in labels)
                    elif outcome.ok and isinstance(outcome.result, BookingInfo):
                        card, chips = booking_card(outcome.result, practice.timezone), ()
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
        return [
            Reply(
                text="Sorry, that took me too many steps. Could you tell me again what you'd like to do?",
                quick_replies=chips,
            )
        ]


def confirmation_question(outcome: ToolOutcome) -> Reply:
    assert outcome.summary is not None
    if outcome.name == "reschedule_booking":
        return Reply(
            f"Shall I move {outcome.summary.text}?",
            (QuickReply("Yes, move it", "yes"), QuickReply("No", "no")),
        )
    return Reply(
        f"Please confirm: {outcome.summary.text}. Shall I book it?",
        (QuickReply("Yes, book it", "yes"), QuickReply("No, change something", "no")),
    )


def _system_prompt(practice: PracticeInfo, tools: ToolExecutor, now: datetime) -> str:
    state = tools.state
    local = now.astimezone(ZoneInfo(practice.timezone))
    services = "\n".join(f"- {s.name} (id {s.id}, {s.duration_minutes} min)" for s in practice.services)
    hours = "\n".join(practice.opening_hours)
    facts = []
    if state.hold is not None and state.hold.expires_at > now:
        facts.append(
            f"The conversation holds {state.hold.service_name} on "
            f"{when_label(state.hold.starts_at, practice.timezone)} (hold_id {state.hold.id})."
        )
    if state.reference:
        facts.append(f"The booking being discussed has reference {state.reference}.")
    if state.verified_customer_id:
        facts.append("The patient is verified; lookup_booking without a reference lists their bookings.")
    if state.pending_cancel:
        facts.append(
            f"You asked whether to cancel {state.pending_cancel.reference}; cancel only on a clear yes."
        )
    return (
        f"You are the receptionist of {practice.name}. Today is {local:%A, %B %d, %Y}, "
        f"{local:%H:%M} in {practice.timezone}. Be brief and warm.\n"
        "Only use the tools. Never invent times, references or prices. Hold a slot before confirming; "
        "ask for the patient's name and a phone or e-mail before confirm_booking. confirm_booking and "
        "reschedule_booking first show the patient a summary to confirm; when they answer yes, call the "
        "same tool again with the same details. To change or cancel a "
        "booking, the patient must give the reference and the phone or e-mail on it. Ask before cancelling "
        "and cancel only after a clear yes in a later message. Dates further than "
        f"{practice.far_date_confirm_days} days need the patient's confirmation (far_date_confirmed). "
        "If someone describes an emergency, tell them to call the emergency number.\n"
        f"Services:\n{services}\nOpening hours:\n{hours}\n{_faq_prompt(practice)}" + "\n".join(facts)
    )


def _faq_prompt(practice: PracticeInfo) -> str:
    """The clinic's FAQ, the only source for prices, insurance, payment and policies."""
    if not practice.faq:
        return "The clinic has no FAQ: questions beyond services and hours go to a person.\n"
    entries = "\n".join(f"- Q: {' / '.join(e.questions)}\n  A: {e.answer}" for e in practice.faq)
    return (
        "The clinic's FAQ. Answer questions from it in its words; never state a price, an insurance "
        f"plan or a policy that is not in it (offer a person instead):\n{entries}\n"
    )
