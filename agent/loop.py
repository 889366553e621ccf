"""One conversation turn for every channel: triage -> understanding (a language model's or the rules')
-> the dialogue manager -> replies.

Triage runs first and its band decides what the turn does (agent/safety.py). A language model only
reads the message into dialogue acts; every word the patient sees is the manager's, and on the
model's path the replies still pass the reply rules (policy/replies.py), since the model's reading
shaped them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from agent import safety
from agent.dialogue import DeterministicPlanner, resolve_choice
from agent.dialogue.planner import is_chip
from agent.executor import TurnFacts
from agent.llm import HistoryMessage, LlmPlanner, LlmUnavailable
from agent.ports import PracticeInfo
from agent.replies import Reply, TurnResult
from agent.safety import SafetyDesk, WitnessedTools
from agent.state import ConversationState
from agent.triage_opinion import TriageOpinion
from policy import triage
from policy.engine import ToolCall
from policy.input_limits import MAX_TEXT_CHARS
from policy.switches import language_model_decision

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
    # The words left to answer when the channel settled the rest of the message itself (the yes of
    # "yes I'll be there, is there parking?"): triage reads the whole message, the planner these.
    unanswered: str | None = None


class Agent:
    def __init__(self, llm: LlmPlanner | None = None, opinion: TriageOpinion | None = None) -> None:
        self.llm = llm
        self.opinion = opinion

    async def turn(
        self,
        *,
        desk: SafetyDesk,
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
        band, category = assessment.band, assessment.category
        replies: list[Reply] = []
        check, state.safety_check = state.safety_check, None
        if check is not None and band in {"routine", "possible"}:
            # A key pressed on a call is the channel's trusted `meaning`; a tapped chip, `choice`.
            answer = safety.answer_to_check(text, inbound.meaning or inbound.choice, state)
            await desk.record_safety("triage.answer", {"category": check.category, "answer": answer})
            state.choices = []
            if answer == "now":
                band, category = "emergency", check.category
            elif answer is not None:
                replies.append(safety.not_now_reply(practice, channel))
            if answer == "bare_no":  # go on with what they said, where the conversation was
                text = check.text
                inbound = replace(inbound, text=text, choice=None, meaning=None)
                state.awaiting, state.choices = check.awaiting, check.choices
        elif (
            band == "routine"
            and assessment.dismissed
            and self.opinion is not None
            and await self.opinion.sees_emergency(text)
        ):
            # A sign the rules set aside, and a model that thinks it is happening: ask the patient.
            band, category = "possible", assessment.dismissed[0][0]
        if band == "emergency":
            assert category is not None
            source = "rules" if assessment.band == "emergency" else "patient"
            replies = await safety.emergency(desk, practice, state, category, source, channel)
            return TurnResult(replies, engine="triage", emergency=category)
        if band == "possible":
            assert category is not None
            source = "rules" if assessment.band == "possible" else "model opinion"
            replies = await safety.ask_if_happening(desk, practice, state, category, text, source, channel)
            return TurnResult(replies, engine="triage")
        if inbound.unanswered is not None:
            text = inbound.unanswered[:MAX_TEXT_CHARS]
        value = inbound.meaning or _tapped(inbound.choice, state) or resolve_choice(text, state)
        chosen = safety.connection(value, text, state) if band == "routine" else None
        if chosen is not None:  # after an emergency on a call: put it through
            reply, number = await safety.connect(desk, practice, state, chosen)
            return TurnResult([*replies, reply], engine="triage", dial=number)
        facts = TurnFacts(channel=channel, now=now, user_text=value, channel_phone=channel_phone)
        tools = WitnessedTools(desk, practice, state, facts)
        visit = None
        if band == "urgent":
            assert category is not None
            visit = await safety.urgent_visit(desk, tools, category, assessment.advice, now)
        planned, engine, understood = await self._plan(desk, tools, history, text, value, now)
        if visit is not None:
            planned, engine = await safety.with_urgent_visit(visit, tools, planned, understood), "triage"
        return TurnResult(replies + planned, engine=engine, tool_calls=tools.calls, understood=understood)

    async def _plan(
        self,
        desk: SafetyDesk,
        tools: WitnessedTools,
        history: list[HistoryMessage],
        text: str,
        value: str,
        now: datetime,
    ) -> tuple[list[Reply], str, bool]:
        """The manager's replies to the message read into acts (by the model when there is one and
        it answers; else by the rules), which reader it was, and whether it made anything of it."""
        planner = DeterministicPlanner(tools, now)
        if self.llm is not None and not is_chip(value) and await _model_allowed(desk, tools.practice):
            try:
                acts = await asyncio.wait_for(
                    self.llm.understand(
                        tools.practice, tools.state, planner.turn.context(), history, text, now
                    ),
                    timeout=self.llm.config.timeout_seconds,
                )
            except (LlmUnavailable, TimeoutError) as error:
                log.warning("LLM unavailable (%s); the rules read this turn", error or "timeout")
            else:
                planned = await planner.respond(value, acts)
                checked = await safety.checked(desk, planned, safety.reply_facts(tools, now))
                return checked, "llm", planner.understood
        planned = await planner.respond(value)
        return planned, "deterministic", planner.understood


async def _model_allowed(desk: SafetyDesk, practice: PracticeInfo) -> bool:
    """Whether the clinic lets a language model read its messages; a refusal is audited by rule."""
    decision = language_model_decision(practice.switches)
    if not decision.allowed:
        await desk.record_decision(ToolCall("read_with_language_model", {}), decision)
    return decision.allowed


def _tapped(choice: str | None, state: ConversationState) -> str | None:
    """The quick reply tapped, when it is one on offer; anything else a client sends as a choice is
    ignored, and the message's words are read instead."""
    if choice is not None and any(choice == offered.value for offered in state.choices):
        return choice
    return None
