"""The clinic's own answers: a patient's question matched against its FAQ (question variants and an
answer), with a score below which nothing is said (the receptionist then says it does not know and
offers a person; it never makes an answer up).

Matching is rapidfuzz's token-set similarity over the content words of the question and of each
variant, the best variant of each entry counting (chosen over BM25 by measuring both on labelled
questions: bench/faq_matching.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from agent.ports import FaqEntry

# Below this, a question is not answered from the FAQ (measured: bench/faq_matching.py).
THRESHOLD = 65.0
_STOP = frozenset(
    """a an the and or but if of to for in on at by with from about is are was were be been do does did
    you your yours we our us i me my can could would will should may might please tell know what whats
    what's how hows where wheres when which who why there here it its it's this that these those any
    some have has had get got just also hi hello hey thanks thank so ok okay""".split()
)


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    score: float


def content(text: str) -> str:
    """The words of a question that say what it is about."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))
    kept = [w for w in words if w not in _STOP]
    return " ".join(kept or words)


def best_match(question: str, entries: Sequence[FaqEntry], threshold: float = THRESHOLD) -> FaqMatch | None:
    """The entry that answers `question`, if one scores at least `threshold` (0-100)."""
    asked = content(question)
    if not asked or not entries:
        return None
    best: FaqMatch | None = None
    for entry in entries:
        score = max((fuzz.token_set_ratio(asked, content(v)) for v in entry.questions), default=0.0)
        if best is None or score > best.score:
            best = FaqMatch(entry, score)
    return best if best is not None and best.score >= threshold else None
