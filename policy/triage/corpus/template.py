"""A template of the corpus: words with slots, filled with a person and a choice from each slot list."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from policy.triage.corpus.people import person

URGENT_DENTAL = frozenset(
    {"dental_swelling", "knocked_out_tooth", "broken_tooth", "dental_bleeding", "dental_pain_fever"}
)


@dataclass(frozen=True)
class Template:
    label: str  # an emergency or urgent category, or "none"
    who: str  # whom it is about: "any", "self", "other" or "child" (people.person)
    text: str
    slots: dict[str, list[str]] = field(default_factory=dict)
    kind: str = ""  # for a near miss, why it is not an emergency: "negation", "history", ...

    def __init__(self, label: str, who: str, text: str, kind: str = "", **slots: list[str]) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "who", who)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "slots", slots)

    @property
    def band(self) -> str:
        if self.label == "none":
            return "routine"
        return "urgent" if self.label in URGENT_DENTAL else "emergency"

    def fill(self, rng: random.Random) -> str:
        text = self.text
        for name, choices in self.slots.items():
            text = text.replace("{" + name + "}", rng.choice(choices))
        text = text.format(**person(self.who, rng))
        return text[0].upper() + text[1:]
