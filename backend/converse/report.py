"""What `frontdesk converse` prints: each script as it finishes, a failure with its transcript, the
totals per class and overall; and the same as JSON, to compare two runs (a model and the rules)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from backend.converse.runner import Outcome

_UNCLASSED = "(no class)"


def print_outcome(outcome: Outcome, out: TextIO) -> None:
    script = outcome.case.script
    label = f"{script.name}  [{script.kind or _UNCLASSED}, {script.channel}]"
    print(f"{'PASS' if outcome.passed else 'FAIL'}  {label}", file=out)
    if outcome.passed:
        return
    for problem in outcome.problems:
        print(f"        - {problem}", file=out)
    for said, heard in outcome.transcript:
        print(f"        patient:      {said}", file=out)
        for line in heard.splitlines() or [""]:
            print(f"        receptionist: {line}", file=out)
    out.flush()


def by_class(outcomes: Sequence[Outcome]) -> dict[str, tuple[int, int]]:
    """(passed, total) per class, classes in alphabetical order."""
    total = Counter(o.case.script.kind or _UNCLASSED for o in outcomes)
    passed = Counter(o.case.script.kind or _UNCLASSED for o in outcomes if o.passed)
    return {kind: (passed[kind], total[kind]) for kind in sorted(total)}


def print_summary(outcomes: Sequence[Outcome], out: TextIO) -> None:
    failed = [o for o in outcomes if not o.passed]
    print(f"\n{len(outcomes)} scripts: {len(outcomes) - len(failed)} passed, {len(failed)} failed", file=out)
    classes = by_class(outcomes)
    if len(classes) > 1:
        width = max(len(kind) for kind in classes)
        for kind, (passed, total) in classes.items():
            print(f"  {kind:<{width}}  {passed:>3} / {total}", file=out)
    if failed:
        print("Failed:", file=out)
        for outcome in failed:
            print(f"  {outcome.case.script.name}  ({outcome.case.file})", file=out)


def as_json(outcomes: Sequence[Outcome], target: dict[str, str]) -> dict[str, Any]:
    return {
        "target": target,
        "total": len(outcomes),
        "passed": sum(o.passed for o in outcomes),
        "classes": {k: {"passed": p, "total": t} for k, (p, t) in by_class(outcomes).items()},
        "scripts": [
            {
                "name": o.case.script.name,
                "class": o.case.script.kind,
                "channel": o.case.script.channel,
                "file": o.case.file,
                "passed": o.passed,
                "problems": o.problems,
                "transcript": [{"patient": said, "receptionist": heard} for said, heard in o.transcript],
            }
            for o in outcomes
        ],
    }


def write_json(path: Path, outcomes: Sequence[Outcome], target: dict[str, str]) -> None:
    path.write_text(json.dumps(as_json(outcomes, target), indent=2, ensure_ascii=False) + "\n")
