"""Writes generated.jsonl: every template of `emergencies` and `ordinary`, filled with persons and
slot choices, half of them typed as people type on a phone (`people.perturb`). Seeded: the same
templates give the same file.

The split is by template, not by sentence: the held-out part is made of whole templates (in each
category, or each kind of near miss, the 30% whose wording hashes lowest), so a held-out phrasing
never shares its sentence frame with one the detectors were tuned or trained on. Hand-written lines
(handwritten.jsonl) are split by a hash of their text.

Usage: python -m policy.triage.corpus.generate
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import defaultdict
from pathlib import Path

from policy.triage.corpus.emergencies import TEMPLATES
from policy.triage.corpus.ordinary import NEAR_MISSES, URGENT
from policy.triage.corpus.people import perturb
from policy.triage.corpus.template import Template

HERE = Path(__file__).parent
HELD_OUT_SHARE = 0.3
SAMPLES = {"emergency": 7, "urgent": 7, "routine": 8}


def digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def held_out_templates(templates: list[Template]) -> set[str]:
    strata: dict[tuple[str, str], list[Template]] = defaultdict(list)
    for template in templates:
        strata[(template.label, template.kind)].append(template)
    held: set[str] = set()
    for members in strata.values():
        ranked = sorted(members, key=lambda t: digest(t.text))
        held.update(t.text for t in ranked[: math.ceil(HELD_OUT_SHARE * len(ranked))])
    return held


def rows(templates: list[Template]) -> list[dict[str, object]]:
    rng = random.Random(27)  # noqa: S311 (variety, not secrecy)
    held = held_out_templates(templates)
    seen: set[str] = set()
    out = []
    for number, template in enumerate(templates):
        for attempt in range(SAMPLES[template.band] * 3):
            if sum(1 for r in out if r["template"] == number) >= SAMPLES[template.band]:
                break
            text = template.fill(rng)
            if attempt % 2 == 1:
                text = perturb(text, rng)
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            out.append(
                {
                    "text": text,
                    "label": template.label,
                    "band": template.band,
                    "near_miss": template.label == "none",
                    "kind": template.kind,
                    "template": number,
                    "split": "held_out" if template.text in held else "tune",
                }
            )
    return out


def split_handwritten() -> None:
    path = HERE / "handwritten.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for line in lines:
        line["split"] = "held_out" if digest(line["text"]) % 100 < 100 * HELD_OUT_SHARE else "tune"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def main() -> None:
    generated = rows(TEMPLATES + URGENT + NEAR_MISSES)
    (HERE / "generated.jsonl").write_text("".join(json.dumps(row) + "\n" for row in generated))
    split_handwritten()
    print(f"{len(generated)} generated rows")


if __name__ == "__main__":
    main()
