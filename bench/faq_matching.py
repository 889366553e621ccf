"""Matching a patient's question against a clinic's FAQ, measured: rapidfuzz's similarity scorers
and BM25 (rank_bm25) on the labelled questions of tests/data/faq_questions.json. Each matcher's
no-match threshold is tuned on the first half of the questions and scored on the second half, which
it never saw: answered right, answered wrong (the worst: a wrong fact), and not answered. Also the
cost per question.

Usage: python bench/faq_matching.py
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.faq import content  # noqa: E402
from agent.ports import FaqEntry  # noqa: E402

DATA = ROOT / "tests" / "data" / "faq_questions.json"
Scorer = Callable[[str], tuple[str | None, float]]


def _stems(text: str) -> list[str]:
    words = content(text).split()
    return [w[:-3] if w.endswith("ing") else w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words]


def fuzzy(entries: list[FaqEntry], scorer: Callable[[str, str], float], stem: bool = False) -> Scorer:
    words = (lambda text: " ".join(_stems(text))) if stem else content
    variants = [(e.id, words(v)) for e in entries for v in e.questions]

    def best(question: str) -> tuple[str | None, float]:
        asked = words(question)
        scored = [(scorer(asked, v), entry_id) for entry_id, v in variants]
        score, entry_id = max(scored)
        return entry_id, score

    return best


def bm25(entries: list[FaqEntry]) -> Scorer:
    ids = [e.id for e in entries for _ in e.questions]
    index = BM25Okapi([_stems(v) or ["_"] for e in entries for v in e.questions])

    def best(question: str) -> tuple[str | None, float]:
        scores = index.get_scores(_stems(question))
        top = max(range(len(ids)), key=lambda i: scores[i])
        return ids[top], float(scores[top])

    return best


def judge(scorer: Scorer, questions: list[dict], threshold: float) -> tuple[int, int, int]:
    right = wrong = silent = 0
    for row in questions:
        entry_id, score = scorer(row["q"])
        answered = entry_id if score >= threshold else None
        if answered == row["id"]:
            right += 1
        elif answered is None:
            silent += 1
        else:
            wrong += 1
    return right, wrong, silent


def tune(scorer: Scorer, questions: list[dict]) -> float:
    """The threshold that answers most questions right on the tuning half, a wrong answer counting
    twice (saying a wrong fact is worse than saying "I don't know")."""
    scores = sorted({scorer(row["q"])[1] for row in questions})
    return max(scores, key=lambda t: (lambda r, w, s: r - 2 * w)(*judge(scorer, questions, t)))


def main() -> None:
    data = json.loads(DATA.read_text())
    entries = [FaqEntry(e["id"], tuple(e["questions"]), e["answer"]) for e in data["faq"]]
    questions = data["questions"]
    tuning, held_out = questions[::2], questions[1::2]
    matchers = {
        "rapidfuzz token_set_ratio": fuzzy(entries, fuzz.token_set_ratio),
        "rapidfuzz token_set_ratio, stemmed": fuzzy(entries, fuzz.token_set_ratio, stem=True),
        "rapidfuzz token_sort_ratio": fuzzy(entries, fuzz.token_sort_ratio),
        "rapidfuzz WRatio": fuzzy(entries, fuzz.WRatio),
        "rapidfuzz partial_token_set_ratio": fuzzy(entries, fuzz.partial_token_set_ratio),
        "BM25 (rank_bm25, stemmed)": bm25(entries),
    }
    print(f"FAQ matching: {len(entries)} entries, {len(tuning)} tuning, {len(held_out)} held-out questions")
    print(f"  {'matcher':36} {'threshold':>9} {'right':>6} {'wrong':>6} {'silent':>7} {'us/q':>6}")
    for name, scorer in matchers.items():
        threshold = tune(scorer, tuning)
        right, wrong, silent = judge(scorer, held_out, threshold)
        began = time.perf_counter()
        for row in questions:
            scorer(row["q"])
        cost = (time.perf_counter() - began) * 1e6 / len(questions)
        print(f"  {name:36} {threshold:9.2f} {right:6d} {wrong:6d} {silent:7d} {cost:6.0f}")


if __name__ == "__main__":
    main()
