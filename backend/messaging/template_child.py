"""The process that renders tenant templates: `python -m backend.messaging.template_child MEMORY_MB`.

One JSON request a line on stdin, one JSON answer a line on stdout:
    {"sources": {"sms": "…"}, "context": {…}, "cpu_seconds": 1, "budget_seconds": 0.2}
    -> {"texts": {"sms": "…"}}  or  {"refused": "for the author", "reason": "for the logs"}

It is started by `template_processes.py` with an empty environment (no secret to read), runs at a
lower CPU priority than the server, may not write files or dump core, and holds at most MEMORY_MB of
address space. Before each request its CPU-time limit is moved to the CPU used so far plus the
request's allowance: an operation that runs past it in C, where no Python-level budget can stop it,
gets SIGXCPU from the kernel, whose default action ends the process. The parent replaces it.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
from typing import Any

from backend.messaging.template_sandbox import TemplateRefused, render_untrusted

CHILD_NICENESS = 10


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(kind)
    hard = current_hard if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(kind, (soft, hard))


def _confine(memory_mb: int) -> None:
    os.nice(CHILD_NICENESS)
    _limit(resource.RLIMIT_CORE, 0, 0)
    _limit(resource.RLIMIT_FSIZE, 0, 0)
    _limit(resource.RLIMIT_AS, memory_mb * 1024 * 1024)


def _allow_cpu(seconds: int) -> None:
    """At least `seconds` more of CPU time, at most one more (the limit counts whole seconds)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _limit(resource.RLIMIT_CPU, math.ceil(usage.ru_utime + usage.ru_stime) + seconds)


def answer(request: dict[str, Any]) -> dict[str, Any]:
    context = request["context"]
    texts = {}
    try:
        for part, source in request["sources"].items():
            texts[part] = render_untrusted(source, context, request["budget_seconds"])
    except TemplateRefused as refusal:
        return {"refused": str(refusal), "reason": refusal.reason}
    return {"texts": texts}


def main() -> None:
    _confine(int(sys.argv[1]))
    for line in sys.stdin:
        request = json.loads(line)
        _allow_cpu(int(request["cpu_seconds"]))
        sys.stdout.write(json.dumps(answer(request)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
