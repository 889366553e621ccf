"""The labelled corpus of triage: phrasings of emergencies, urgent dental problems and near misses,
each with its label (a category or "none"), band, whether it is a near miss, and its split ("tune":
what detectors may be tuned and trained on; "held_out": what they are measured on, never tuned on).

generated.jsonl comes from templates (`generate`); handwritten.jsonl holds realistic lines written
one by one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FILES = ("generated.jsonl", "handwritten.jsonl")


@dataclass(frozen=True)
class Phrasing:
    text: str
    label: str
    band: str  # "emergency", "urgent" or "routine"
    near_miss: bool
    kind: str
    split: str
    source: str  # the file it comes from


def load(split: str | None = None) -> list[Phrasing]:
    here = Path(__file__).parent
    phrasings = []
    for name in FILES:
        for line in (here / name).read_text().splitlines():
            row = json.loads(line)
            if split is None or row["split"] == split:
                phrasings.append(
                    Phrasing(
                        row["text"],
                        row["label"],
                        row["band"],
                        row["near_miss"],
                        row["kind"],
                        row["split"],
                        name,
                    )
                )
    return phrasings
