"""One conversation turn for every channel: triage -> understanding (a language model's or the rules')
-> the dialogue manager -> replies."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from agent.dialogue import DeterministicPlanner, resolve_choice
from agent.dialogue.planner import is_chip
from agent.executor import ToolExecutor, TurnFacts
from agent.llm import HistoryMessage, LlmPlanner, LlmUnavailable
from agent.ports import Desk, PracticeInfo
from agent.replies import Reply, TurnResult
from agent.state import ConversationState
from policy import triage
from policy.input_limits import MAX_TEXT_CHARS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    text: str
    # The value of the quick reply the patient tapped, if they tapped one.
    choice: str | None = None
    # The booking the message answers (a reply to its reminder): "cancel" or "move it" mean this one.
    about_reference: str | None = None
    # What the channel has already settled the message means (an "R" to a reminder is
    # "intent:reschedule"), as a quick reply's value. Set by our own code, so it is trusted; a
    # `choice` comes from the client and counts only when it is one on offer.
    meaning: str | None = None


class Agent:
    def __init__(self, llm: LlmPlanner | None = None) -> None:
        self.llm = llm

    async def turn(
        self,
        *,
        desk: Desk,
        practice: PracticeInfo,
        state: ConversationState,
        history: list[HistoryMessage],
        inbound: Inbound,
        channel: str,
        now: datetime,
        channel_phone: str | None = None,
    ) -> TurnResult:
        """Answer one message, updating `state` in place. Never raises for what the patient wrote."""
        state.turn += 1
        if inbound.about_reference is not None:
            state.reference = inbound.about_reference
        # Callers enforce the input contract; the cap here keeps any caller that forgets it from
        # handing the readers more than they are bounded for.
        text = inbound.text[:MAX_TEXT_CHARS]
        assessment = triage.assess(text)
        for category, reason in assessment.dismissed:
            await desk.record_triage(category, reason)
        if assessment.emergency:
            assert assessment.category is not None
            await desk.record_triage(assessment.category)
            state.awaiting = None
            state.choices = []
            message = triage.safety_message(assessment.category, practice.country)
            return TurnResult([Reply(text=message)], engine="triage", emergency=assessment.category)
        value = inbound.meaning or _tapped(inbound.choice, state) or resolve_choice(text, state)
        facts = TurnFacts(channel=channel, now=now, user_text=value, channel_phone=channel_phone)
        tools = ToolExecutor(desk, practice, state, facts)
        planner = DeterministicPlanner(tools, now)
        if self.llm is not None and not is_chip(value):
            try:
                acts = await asyncio.wait_for(
                    self.llm.understand(practice, state, planner.turn.context(), history, text, now),
                    timeout=self.llm.config.timeout_seconds,
                )
            except (LlmUnavailable, TimeoutError) as error:
                log.warning("LLM unavailable (%s); the rules read this turn", error or "timeout")
            else:
                replies = await planner.respond(value, acts)
                return TurnResult(
                    replies, engine="llm", tool_calls=tools.calls, understood=planner.understood
                )
        replies = await planner.respond(value)
        return TurnResult(
            replies, engine="deterministic", tool_calls=tools.calls, understood=planner.understood
        )


def _tapped(choice: str | None, state: ConversationState) -> str | None:
    """The quick reply tapped, when it is one on offer; anything else a client sends as a choice is
    ignored, and the message's words are read instead."""
    if choice is not None and any(choice == offered.value for offered in state.choices):
        return choice
    return None
