"""Issue 25's bench: what hostile input costs the server, in one run.

1. The readers of patient text on adversarial input: the worst case (bench/hostile_readers.py).
2. The template bypass catalogue: each construct refused or killed at the template process's limit,
   with `/health` p50/p95/p99 during it against `/health` alone (bench/hostile_templates.py).
3. The Socket.IO flood: another clinic's chat during 5,000 events on one connection
   (bench/hostile_flood.py).

Usage: python bench/hostile_input.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hostile_flood, hostile_readers, hostile_templates  # noqa: E402


def main() -> None:
    print("== 1. Readers of patient text on adversarial input ==")
    hostile_readers.main()
    print("\n== 2. Message templates: the bypass catalogue ==")
    hostile_templates.main()
    print("\n== 3. Socket.IO flood ==")
    hostile_flood.main([])


if __name__ == "__main__":
    main()
