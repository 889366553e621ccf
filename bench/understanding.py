"""Understanding, measured. Three figures, each next to its baseline in the same run:

1. Dates and times on real phrasing: the 1,234 patient messages of the Schema-Guided Dialogue set
   (shared/data, reference day Friday 1 March 2019). Share of dates and of times read as meant, by
   Frontdesk's reader, by `dateparser` alone, and by the reader with `dateparser` as a fallback;
   the reader's failures grouped by the shape of the words.
2. Emergency triage on the held-out split of the labelled corpus (policy/triage/corpus): recall per
   emergency category and false alarms per kind of near miss, for each detector alone (sign patterns,
   symptom combinations, the character n-gram classifier) and for the bands combined; the urgent
   dental level; the hand-written lines alone; the earlier phrase set; the cost per message.
3. Reading a message into dialogue acts: the rules' cost per message over the corpus's lines.
4. Scripted conversations (tests/conversations/scripts) of patients who never tap a chip, run by
   `backend.converse` on a fresh clinic each: through the HTTP chat API of a `frontdesk serve`
   process, and over signed SMS webhooks answered by a `frontdesk worker`; each checked reply by
   reply and against the bookings the API then shows. Passes per class and channel, next to an
   earlier run's (`--before`, a file `--save` wrote; bench/results/ keeps the run before issue 26).

Usage: python bench/understanding.py [--skip-conversations] [--failures 8] [--before F] [--save F]
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import collections
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.understanding import Context, Named, read, read_acts  # noqa: E402  # noqa: E402
from backend.converse.clinic import Clinic, new_clinic  # noqa: E402
from backend.converse.runner import Case, Outcome, SmsLine, read_cases, run_all  # noqa: E402
from backend.converse.script import render, resolve_days, spoken_phone  # noqa: E402
from bench.common import ADMIN_SECRET  # noqa: E402
from bench.outbox import sms_deployment  # noqa: E402
from policy.triage import Readings, Triage, assess, band, classifier  # noqa: E402
from policy.triage import read as read_triage  # noqa: E402
from policy.triage.corpus import Phrasing, load  # noqa: E402
from tests.fakes.twilio_server import AUTH_TOKEN  # noqa: E402

# The evaluation data lives beside the repository (shared/data); --sgd points elsewhere.
SGD = ROOT.parent / "shared" / "data" / "sgd_appointments_train_dev.json"
TRIAGE = ROOT / "tests" / "data" / "triage_phrases.json"
CORPUS = ROOT / "tests" / "conversations" / "scripts"
BEFORE = ROOT / "bench" / "results" / "conversations-before-issue-26.json"
ORIGIN = "https://bench.example"
BENCH_SERVICES = (
    Named("checkup", ("Check-up", "checkup", "exam"), "Exam with the dentist"),
    Named("cleaning", ("Dental cleaning", "cleaning", "hygiene", "scale and polish"), "Cleaning and polish"),
    Named("filling", ("Filling", "cavity"), "Tooth filling"),
    Named("consultation", ("Consultation",), "A talk about treatment options"),
)
SGD_TODAY = date(2019, 3, 1)
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}

Reader = Callable[[str], tuple[date | None, clock | None]]


# ---- 1. dates and times ----


def canonical_date(text: str) -> date:
    month, day = re.match(r"(\w+) (\d+)", text.lower()).groups()  # type: ignore[union-attr]
    return date(2019, _MONTHS[month], int(day))


def canonical_time(text: str) -> clock:
    hour, minute, meridiem = re.match(r"(\d+):(\d+)\s*(am|pm)?", text.lower()).groups()  # type: ignore[union-attr]
    h = int(hour)
    if meridiem == "pm" and h < 12:
        h += 12
    elif meridiem == "am" and h == 12:
        h = 0
    elif not meridiem and 1 <= h <= 7:
        h += 12  # the data set's rule: 1-7 without am/pm is the afternoon
    return clock(h, int(minute))


def frontdesk(utterance: str) -> tuple[date | None, clock | None]:
    reading = read(utterance, Context(SGD_TODAY))
    day = reading.days.first if reading.days is not None and reading.days.single else None
    ask = reading.time
    if ask is None:
        return day, None
    # A time understood: the one asked for, or the one a one-sided range names ("by 2 pm").
    single = ask.after if ask.before is None else (ask.before if ask.after is None else None)
    return day, ask.exact or single


def dateparser_alone(utterance: str) -> tuple[date | None, clock | None]:
    from dateparser.search import search_dates

    settings = {"RELATIVE_BASE": datetime(2019, 3, 1, 9, 0), "PREFER_DATES_FROM": "future"}
    found = search_dates(utterance, settings=settings, languages=["en"]) or []
    day = moment = None
    for words, when in found:
        if moment is None and re.search(r"\d:\d\d|\b(am|pm|noon|past|quarter)\b", words.lower()):
            moment = when.time()
        if day is None and (when.date() != SGD_TODAY or "today" in words.lower()):
            day = when.date()
    return day, moment


def with_fallback(utterance: str) -> tuple[date | None, clock | None]:
    day, moment = frontdesk(utterance)
    if day is None or moment is None:
        other_day, other_moment = dateparser_alone(utterance)
        day, moment = day or other_day, moment or other_moment
    return day, moment


def shape(words: str) -> str:
    words = re.sub(r"\d+", "N", words.lower())
    words = re.sub(r"\b(" + "|".join(_MONTHS) + r")\b", "MONTH", words)
    return re.sub(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", "WEEKDAY", words)


def score(rows: list[dict], reader: Reader) -> tuple[float, float, dict[str, list[str]], float]:
    dates = times = dates_ok = times_ok = 0
    failures: dict[str, list[str]] = collections.defaultdict(list)
    started = time.perf_counter()
    for row in rows:
        day, moment = reader(row["utterance"])
        if row.get("appointment_date_canonical"):
            dates += 1
            if day == canonical_date(row["appointment_date_canonical"]):
                dates_ok += 1
            else:
                failures[f"date: {shape(row['appointment_date_span'])}"].append(row["utterance"])
        if row.get("appointment_time_canonical"):
            times += 1
            if moment == canonical_time(row["appointment_time_canonical"]):
                times_ok += 1
            else:
                failures[f"time: {shape(row['appointment_time_span'])}"].append(row["utterance"])
    per_message = (time.perf_counter() - started) * 1000 / len(rows)
    return 100 * dates_ok / dates, 100 * times_ok / times, failures, per_message


def dates_and_times(path: Path, show: int) -> None:
    if not path.exists():
        print(f"Dates and times: {path} is not here; pass --sgd PATH to score the reader on it")
        return
    rows = json.loads(path.read_text())
    dated = sum(1 for r in rows if r.get("appointment_date_canonical"))
    timed = sum(1 for r in rows if r.get("appointment_time_canonical"))
    print(f"Dates and times on real phrasing: {len(rows)} messages, {dated} with a date, {timed} with a time")
    print(f"  {'reader':<34} {'dates':>7} {'times':>7} {'ms/message':>11}")
    kept: dict[str, list[str]] = {}
    for label, reader in (
        ("Frontdesk (agent.understanding)", frontdesk),
        ("dateparser alone (baseline)", dateparser_alone),
        ("Frontdesk, dateparser as fallback", with_fallback),
    ):
        dates, times, failures, per_message = score(rows, reader)
        print(f"  {label:<34} {dates:6.1f}% {times:6.1f}% {per_message:11.2f}", flush=True)
        if reader is frontdesk:
            kept = failures
    print(f"  Frontdesk's failures by pattern ({sum(len(v) for v in kept.values())}):")
    for pattern, examples in sorted(kept.items(), key=lambda kv: -len(kv[1]))[:show]:
        print(f"    {len(examples):4d}  {pattern:<40} e.g. {examples[0]!r}")


# ---- 2. triage ----

DETECTORS = ("signs", "combinations", "classifier")
EMERGENCY, FLAGGED = {"emergency"}, {"emergency", "possible"}


def fired(readings: Readings, detector: str) -> bool:
    return getattr(readings, detector) is not None


def percent(hits: int, total: int) -> str:
    return f"{100 * hits / total:5.1f}%" if total else "    - "


Assessed = tuple[Phrasing, Readings, Triage]


def share(triages: list[Triage], bands: set[str]) -> str:
    return percent(sum(t.band in bands for t in triages), len(triages))


def triage_table(title: str, groups: dict[str, list[Assessed]], flagged: bool) -> None:
    """One line per group: the share that each detector alone, and the bands combined, flag."""
    print(
        f"  {title:<22} {'n':>4} {'signs':>7} {'combos':>7} {'classif':>7} {'emerg.':>7}"
        f" {'emerg.|possible':>16}"
    )
    columns = collections.Counter()
    total = 0
    for group, rows in sorted(groups.items()):
        counts = collections.Counter()
        for _, readings, triage in rows:
            for detector in DETECTORS:
                counts[detector] += fired(readings, detector)
            counts["emergency"] += triage.band == "emergency"
            counts["flagged"] += triage.band in {"emergency", "possible"}
        columns.update(counts)
        total += len(rows)
        cells = " ".join(percent(counts[c], len(rows)).rjust(7) for c in (*DETECTORS, "emergency"))
        print(f"  {group:<22} {len(rows):4d} {cells} {percent(counts['flagged'], len(rows)):>16}")
    cells = " ".join(percent(columns[c], total).rjust(7) for c in (*DETECTORS, "emergency"))
    word = "flagged" if flagged else "recall"
    print(f"  {'all (' + word + ')':<22} {total:4d} {cells} {percent(columns['flagged'], total):>16}")


def triage() -> None:
    began = time.perf_counter()
    classifier.model()
    trained = time.perf_counter() - began
    held_out = load("held_out")
    began = time.perf_counter()
    assessed = [(row, readings, band(readings)) for row in held_out for readings in [read_triage(row.text)]]
    per_message = (time.perf_counter() - began) * 1000 / len(held_out)
    began = time.perf_counter()
    for row in held_out:
        read_triage(row.text, with_classifier=False)
    rules_only = (time.perf_counter() - began) * 1000 / len(held_out)
    by_category: dict[str, list] = collections.defaultdict(list)
    by_kind: dict[str, list] = collections.defaultdict(list)
    urgent: dict[str, list] = collections.defaultdict(list)
    for item in assessed:
        row = item[0]
        table = {"emergency": by_category, "urgent": urgent, "routine": by_kind}[row.band]
        table[row.kind if row.band == "routine" else row.label].append(item)
    print(
        f"Emergency triage on the held-out split of the corpus (policy/triage/corpus, never tuned or trained "
        f"on): {len(held_out)} phrasings"
    )
    print("  Recall: the share of emergencies each detector alone flags, and the bands combined")
    triage_table("emergency category", by_category, flagged=False)
    print("  False alarms: the share of near misses each detector alone flags, and the bands combined")
    triage_table("near miss", by_kind, flagged=True)
    print(f"  Urgent dental: {'n':>4} {'urgent':>7} {'emerg.':>7} {'possible':>9} {'routine':>8}")
    for category, rows in sorted(urgent.items()):
        bands = collections.Counter(t.band for _, _, t in rows)
        right = sum(t.band == "urgent" and t.category == category for _, _, t in rows)
        cells = " ".join(
            percent(bands[b], len(rows)).rjust(w)
            for b, w in (("emergency", 7), ("possible", 9), ("routine", 8))
        )
        print(f"  {category:<22} {len(rows):4d} {percent(right, len(rows)):>7} {cells}")
    hand = [item for item in assessed if item[0].source == "handwritten.jsonl"]
    emergencies = [t for row, _, t in hand if row.band == "emergency"]
    near = [t for row, _, t in hand if row.near_miss]
    print(
        f"  hand-written lines only: recall {share(emergencies, EMERGENCY)} (with possible"
        f" {share(emergencies, FLAGGED)}), false alarms {share(near, EMERGENCY)} (with possible"
        f" {share(near, FLAGGED)}) of {len(emergencies)} emergencies and {len(near)} near misses"
    )
    rules = [(row, band(read_triage(row.text, with_classifier=False))) for row in held_out]
    rule_emergencies = [t for row, t in rules if row.band == "emergency"]
    rule_near = [t for row, t in rules if row.near_miss]
    print(
        f"  without the classifier: recall {share(rule_emergencies, EMERGENCY)} (with possible"
        f" {share(rule_emergencies, FLAGGED)}), false alarms {share(rule_near, EMERGENCY)} (with possible"
        f" {share(rule_near, FLAGGED)})"
    )
    regression = json.loads(TRIAGE.read_text())
    missed = [p for p in regression["emergency"] if not assess(p["text"]).emergency]
    alarms = [p for p in regression["near_miss"] if assess(p["text"]).band in {"emergency", "possible"}]
    print(
        f"  earlier set (tests/data/triage_phrases.json, tuned on): {len(missed)} of "
        f"{len(regression['emergency'])} emergencies missed, {len(alarms)} of {len(regression['near_miss'])} "
        "near misses flagged"
    )
    print(
        f"  cost: {per_message:.2f} ms a message (without the classifier {rules_only:.2f} ms);"
        f" the classifier trained in {trained:.2f} s once per process (scikit-learn's import included)"
    )


# ---- 3. conversations ----


def reader_cost() -> None:
    """The rules' cost per message: every patient line of the corpus read into acts."""
    lines = []
    for case in read_cases([CORPUS]):
        today = date.today()
        days = resolve_days(case.script.days, today)
        values = {"name": case.patient.name, "phone": spoken_phone(case.patient.phone), "ref": "K7M2QX"}
        lines += [render(line.text, days, values) for line in case.script.say]
    context = Context(date.today(), services=BENCH_SERVICES, profile="healthcare")
    for line in lines[:20]:
        read_acts(line, context)  # warm the pattern caches
    costs = []
    for line in lines:
        began = time.process_time()  # CPU time: what the reading costs, whatever else the machine runs
        read_acts(line, context)
        costs.append((time.process_time() - began) * 1000)
    costs.sort()
    print(
        f"Reading a message into dialogue acts ({len(lines)} patient lines of the corpus), CPU: mean "
        f"{sum(costs) / len(costs):.2f} ms, median {costs[len(costs) // 2]:.2f} ms, "
        f"p99 {costs[int(len(costs) * 0.99)]:.2f} ms, worst {costs[-1]:.2f} ms"
    )


async def run_conversations(base: str, public: str) -> list[Outcome]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def fresh(case: Case) -> Clinic:
            assert case.clinic is not None
            return await new_clinic(http, ADMIN_SECRET, case.clinic, origin=ORIGIN)

        return await run_all(
            read_cases([CORPUS]), fresh, shared=False, parallel=4, sms=SmsLine(AUTH_TOKEN, public)
        )


def conversations(before: Path | None, save: Path | None) -> None:
    with sms_deployment({"SMS_RATE_LIMIT_COUNT": "1000"}) as deployment:
        started = time.monotonic()
        outcomes = asyncio.run(run_conversations(deployment.base, deployment.public))
        elapsed = time.monotonic() - started
    after = {o.case.script.name: o.passed for o in outcomes}
    if save is not None:
        save.write_text(json.dumps(after, indent=1, sort_keys=True))
    earlier = json.loads(before.read_text()) if before is not None else {}
    print(f"Scripted conversations, typed only ({elapsed:.0f} s), passed per class and channel:")
    print(f"  {'class':<24} {'channel':<7} {'before':>8} {'after':>8}")
    groups: dict[tuple[str, str], list[Outcome]] = collections.defaultdict(list)
    for outcome in outcomes:
        script = outcome.case.script
        for key in (
            (script.kind or "-", script.channel),
            (script.kind or "-", "both"),
            ("all", script.channel),
        ):
            groups[key].append(outcome)
        groups[("all", "both")].append(outcome)
    for (kind, channel), mine in sorted(groups.items(), key=lambda kv: (kv[0][0] == "all", kv[0])):
        names = [o.case.script.name for o in mine]
        was = f"{sum(bool(earlier.get(n)) for n in names)}/{len(names)}" if earlier else "-"
        print(f"  {kind:<24} {channel:<7} {was:>8} {f'{sum(after[n] for n in names)}/{len(names)}':>8}")
    for outcome in outcomes:
        if not outcome.passed:
            script, why = outcome.case.script, "; ".join(outcome.problems)
            print(f"    failed ({script.channel}, {script.kind}) {script.name}: {why}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-conversations", action="store_true")
    parser.add_argument("--failures", type=int, default=8, help="failure patterns to show")
    parser.add_argument("--sgd", type=Path, default=SGD, help="the Schema-Guided Dialogue utterances (JSON)")
    parser.add_argument("--before", type=Path, default=BEFORE, help="an earlier run's results (--save)")
    parser.add_argument("--save", type=Path, help="write this run's results here (script -> passed)")
    args = parser.parse_args()
    dates_and_times(args.sgd, args.failures)
    triage()
    reader_cost()
    if not args.skip_conversations:
        conversations(args.before if args.before and args.before.exists() else None, args.save)
