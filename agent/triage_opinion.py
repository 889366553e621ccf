"""A language model's opinion on a warning sign the rules set aside.

The rules decide; the model may only add an opinion, never be the only one: it is asked only about a
message in which a detector saw a sign but the words around it set it aside (history, negation,
another context, a figure of speech), and if it thinks the patient describes an emergency happening
now, the patient is asked "Is this happening right now?" — their yes, not the model, makes it an
emergency. Any trouble with the model (timeout, error, an answer of another shape) means no opinion.
"""

from __future__ import annotations

import asyncio
import json
import logging

from openai import AsyncOpenAI

log = logging.getLogger(__name__)

# The opinion is asked before the turn goes on: it may not hold the patient up for long.
OPINION_TIMEOUT_SECONDS = 4.0

PROMPT = (
    "You screen messages a patient sent to a clinic's receptionist. Answer with a JSON object "
    '{"emergency": true} if the message describes a medical emergency happening to someone now, '
    'otherwise {"emergency": false}. Past events, negations, questions about symptoms in general and '
    "figures of speech are not emergencies."
)


class TriageOpinion:
    def __init__(self, client: AsyncOpenAI, model: str, timeout_seconds: float) -> None:
        self.client = client
        self.model = model
        self.timeout_seconds = timeout_seconds

    async def sees_emergency(self, text: str) -> bool:
        try:
            completion = await asyncio.wait_for(
                self.client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "system", "content": PROMPT}, {"role": "user", "content": text}],
                    response_format={"type": "json_object"},
                ),
                timeout=self.timeout_seconds,
            )
            answer = json.loads(completion.choices[0].message.content or "")
        except Exception as error:  # no opinion is an answer too: the rules stand
            log.warning("no triage opinion from the model (%s)", type(error).__name__)
            return False
        return isinstance(answer, dict) and answer.get("emergency") is True
