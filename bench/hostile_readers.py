"""Every reader of patient text on adversarial input: the worst case, and whether it grows linearly.

Inputs are built to make a backtracking pattern work hardest: each token (characters the patterns'
classes accept, words their alternatives name, and the literals of every compiled pattern in
`agent/understanding/` and `policy/`) repeated to the length, alone and after a prefix, at half and
at full length (2,000 characters, the input contract's limit). A linear reader takes about twice as
long at full length as at half; a quadratic one four times.

Times are CPU time of this process, so a busy machine does not inflate them.

Usage: python bench/hostile_readers.py [--only READER ...]   (bench/hostile_input.py runs it too)
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import pkgutil
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.dialogue.planner import resolve_choice  # noqa: E402
from agent.state import Choice, ConversationState  # noqa: E402
from agent.understanding import Context, Named, Offered, Person, contact, read, read_acts  # noqa: E402
from channels import sms, voice  # noqa: E402
from policy import confirmation, redaction, triage  # noqa: E402
from policy.input_limits import MAX_TEXT_CHARS  # noqa: E402

BASE_TOKENS = [
    "a", "1", "1 ", "a.", "a@", "@a", ". ", "9:", ":9", "aa ", "-", "x1", "a-", "1-", "1.", "(1", ") ",
    "+1", "1/", "/1", "1:", "a'", "' ", "A", "Aa ", "a b ", "ab", "!", "?", ",", " ", "\n", "é", "😀",
    "9 am ", "at 9 ", "on monday ", "the 3rd ", "2nd ", "next ", "i'm ", "my name is ", "call me ",
    "ab", "0a", "tel1", "1.1.1.1 ", "a@b ",
]  # fmt: skip
PREFIXES = ["", "x ", "my name is ", "at ", "not ", "i can't breathe "]
# A run a pattern anchored at the end ("[.!]+$") must rescan from every position, then fails at "x".
SUFFIXES = ["", "x"]
TODAY = date(2026, 12, 4)
SERVICES = (
    Named("s1", ("Cleaning", "scale and polish", "hygiene"), "Teeth cleaned and polished"),
    Named("s2", ("Check-up", "exam"), "A check of teeth and gums"),
    Named("s3", ("Filling",), "A cavity filled"),
)
PROVIDERS = (Person("p1", "Dr. Maya Chen"), Person("p2", "Dr. Sam Ortiz"))
OFFERED = tuple(
    Offered(f"Tue, Dec {d} at 10:30 AM", datetime(2026, 12, d, 15, 30, tzinfo=UTC)) for d in (8, 9)
)
STATE = ConversationState(choices=[Choice(label=o.label, value=f"slot:{i}") for i, o in enumerate(OFFERED)])


def readers() -> dict[str, Callable[[str], object]]:
    full = Context(today=TODAY, services=SERVICES, providers=PROVIDERS, offered=OFFERED, profile="healthcare")
    return {
        "understanding.read": lambda t: read(t, full),
        "understanding.read_acts": lambda t: read_acts(t, full),
        "understanding.read (expecting name)": lambda t: read(t, Context(today=TODAY, expecting="name")),
        "understanding.read (expecting time)": lambda t: read(t, Context(today=TODAY, expecting="time")),
        "contact.find_email": contact.find_email,
        "contact.find_phone": contact.find_phone,
        "contact.find_name": lambda t: contact.find_name(t, expecting_name=True),
        "contact.find_reference": contact.find_reference,
        "dialogue.resolve_choice": lambda t: resolve_choice(t, STATE),
        "triage.assess": triage.assess,
        "redaction.redact_text": redaction.redact_text,
        "redaction.redact_for_log": redaction.redact_for_log,
        "redaction.redact": lambda t: redaction.redact({"note": t, "text": t}),
        "confirmation.is_explicit_yes": confirmation.is_explicit_yes,
        "sms.keyword": sms.keyword,
        "sms.reminder_reply": sms.reminder_reply,
        "voice.speakable": lambda t: voice.speakable([t], [t]),
    }


def pattern_tokens() -> list[str]:
    """Words and short literals taken from every compiled pattern of the readers' packages."""
    found: set[str] = set()
    for package_name in ("agent.understanding", "policy", "policy.triage", "channels"):
        package = importlib.import_module(package_name)
        names = [f"{package_name}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
        modules = [package, *(importlib.import_module(name) for name in names)]
        for module in modules:
            for value in vars(module).values():
                if isinstance(value, re.Pattern):
                    found.update(w + " " for w in re.findall(r"[a-z']{2,}", value.pattern)[:200])
    return sorted(found)


def adversarial(token: str, prefix: str, suffix: str, length: int) -> str:
    body = token * (length // max(1, len(token)) + 1)
    return (prefix + body)[: length - len(suffix)] + suffix


def timed(reader: Callable[[str], object], text: str) -> float:
    began = time.process_time()
    reader(text)
    return time.process_time() - began


def main(only: list[str] | None = None) -> None:
    tokens = BASE_TOKENS + pattern_tokens()
    inputs = list(itertools.product(tokens, PREFIXES, SUFFIXES))
    print(f"{len(inputs)} hostile inputs of {MAX_TEXT_CHARS} characters (the input contract's limit)")
    print("growth: time at 4x the length over time at the limit, for its 5 slowest inputs (linear: ~4)")
    print(f"{'reader':40s} {'worst ms':>9s} {'growth':>7s}  worst input")
    overall = 0.0
    for name, reader in readers().items():
        if only and name not in only:
            continue
        reader("warm up the pattern cache")
        costs = sorted(
            ((timed(reader, adversarial(t, p, s, MAX_TEXT_CHARS)), (t, p, s)) for t, p, s in inputs),
            reverse=True,
        )
        growth = max(
            timed(reader, adversarial(t, p, s, 4 * MAX_TEXT_CHARS)) / max(cost, 1e-6)
            for cost, (t, p, s) in costs[:5]
        )
        worst, (token, prefix, suffix) = costs[0]
        overall = max(overall, worst)
        print(f"{name:40s} {worst * 1000:9.2f} {growth:7.1f}  {prefix + token + '…' + suffix!r:.40}")
    print(f"worst case of any reader on {MAX_TEXT_CHARS} hostile characters: {overall * 1000:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", action="append", default=[], help="a reader's name (repeatable)")
    main(parser.parse_args().only)
