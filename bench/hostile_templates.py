"""Hostile message templates against a `frontdesk serve` process: what becomes of each, and how
long `/health` waits meanwhile (it must not queue behind a template).

1. The bypass catalogue of issue 25 (tests/support/hostile_templates.py): each construct saved and
   previewed, each expected refused (422 naming it) or killed at the template process's limit;
   `/health` is asked without pause all along, and its p50/p95/p99 printed against `/health` alone
   in the same run.
2. Templates saved before the rules (written straight into the table, as an old server let them
   through): the template list, and bookings whose confirmation uses one, while `/health` is asked.
3. Every combination of an expensive expression, 0-3 nested loops and a broken tail, PUT as the
   reminder text.

Usage: python bench/hostile_templates.py   (bench/hostile_input.py runs it too)
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ADMIN_SECRET, percentile, prepare_services, start_server  # noqa: E402
from bench.workspace_views import HOURS, PASSWORD  # noqa: E402
from tests.support.hostile_templates import CATALOGUE  # noqa: E402

EXPRESSIONS = [
    '"a" * 100000000',
    "range(10**8)|length",
    "2 ** 100000",
    "first_name * 10**7",
    "first_name.__class__.__mro__",
    '"x"|center(10**8)',
    "(first_name ~ first_name) * 3000",
    "[1] * 10**9",
    "first_name|upper",
]
LOOPS = ["range(1000)", '"x" * 4000', "[first_name] * 1000"]
TAILS = ["", "{% if %}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"]


def templates() -> list[str]:
    found = []
    for expression, depth, tail in itertools.product(EXPRESSIONS, range(4), TAILS):
        body = "{{ " + expression + " }}"
        for loop in itertools.islice(itertools.cycle(LOOPS), depth):
            body = "{% for i in " + loop + " %}" + body + "{% endfor %}"
        found.append("Hi " + body + tail)
    return found


@dataclass(frozen=True)
class Clinic:
    id: str
    key: str
    service_id: str
    csrf: str


async def owner_session(http: httpx.AsyncClient) -> Clinic:
    body = {
        "slug": "bench-templates",
        "name": "Template Clinic",
        "timezone": "America/New_York",
        "providers": [{"name": "Dr. A", "hours": HOURS}],
        "services": [{"name": "Visit", "duration_minutes": 30}],
        "owner": {"email": "owner@templates.example", "name": "Tess"},
    }
    made = (await http.post("/api/v1/tenants", json=body, headers={"X-Admin-Secret": ADMIN_SECRET})).json()
    link = "/app/" + made["owner_invite_url"].split("/app/", 1)[1]
    token = re.search(r'name="form_token" value="([^"]+)"', (await http.get(link)).text).group(1)
    await http.post(link, data={"password": PASSWORD, "form_token": token})
    csrf = re.search(r'csrf: "([0-9a-f]+)"', (await http.get("/app/schedule")).text).group(1)
    return Clinic(made["tenant"]["id"], made["api_key"]["key"], made["services"][0]["id"], csrf)


def health_line(label: str, took: list[float]) -> str:
    p50, p95, p99 = (percentile(took, p) for p in (50, 95, 99))
    figures = f"p50 {p50:7.1f}  p95 {p95:7.1f}  p99 {p99:7.1f}  max {max(took):7.1f} ms"
    return f"  {label:<34} {figures}  (n={len(took)})"


async def health_alone(other: httpx.AsyncClient, count: int = 200) -> list[float]:
    took = []
    for _ in range(count):
        began = time.perf_counter()
        await other.get("/health")
        took.append((time.perf_counter() - began) * 1000)
    return took


@asynccontextmanager
async def health_meanwhile(other: httpx.AsyncClient) -> AsyncIterator[list[float]]:
    """`/health` asked one request after another until the block ends; its latencies (ms)."""
    took: list[float] = []
    done = asyncio.Event()

    async def ask() -> None:
        while not done.is_set():
            began = time.perf_counter()
            await other.get("/health")
            took.append((time.perf_counter() - began) * 1000)

    task = asyncio.create_task(ask())
    try:
        yield took
    finally:
        done.set()
        await task


def outcome(response: httpx.Response) -> str:
    if response.status_code == 200:
        return "ACCEPTED"
    if response.status_code != 422:
        return f"HTTP {response.status_code}"
    message = response.json()["error"]["message"]
    return ("killed at the limit: " if "stopped at" in message else "refused: ") + message


async def timed(call: Callable[[], Awaitable[httpx.Response]]) -> tuple[httpx.Response, float]:
    began = time.perf_counter()
    response = await call()
    return response, (time.perf_counter() - began) * 1000


URL = "/api/v1/message-templates/reminder/sms"


async def catalogue(http: httpx.AsyncClient, clinic: Clinic) -> None:
    print(f"  bypass catalogue: {len(CATALOGUE)} constructs, each saved (PUT) and previewed (POST …/preview)")
    headers = {"X-CSRF-Token": clinic.csrf}
    for hostile in CATALOGUE:
        body = {"source": hostile.source}
        saved, save_ms = await timed(lambda body=body: http.put(URL, json=body, headers=headers))
        previewed, preview_ms = await timed(
            lambda body=body: http.post(URL + "/preview", json=body, headers=headers)
        )
        took = f"save {save_ms:7.1f} ms  preview {preview_ms:7.1f} ms"
        print(f"    {hostile.name:<40} {took}  {outcome(saved)[:70]}")
        if outcome(previewed).split(":")[0] != outcome(saved).split(":")[0]:
            print(f"    {'':<40} preview: {outcome(previewed)[:90]}")


LEGACY = '{% if first_name != "Maria" %}{{ (((9**64)**64)**64)**8 }}{% endif %}Hi {{ first_name }}'


async def legacy_templates(http: httpx.AsyncClient, clinic: Clinic, database_url: str) -> None:
    """A hostile template saved before the rules: the list and bookings must still answer."""
    connection = await asyncpg.connect(database_url)
    try:
        for part in ("sms", "subject"):
            await connection.execute(
                "INSERT INTO message_templates (tenant_id, kind, part, source) "
                "VALUES ($1, 'confirmation', $2, $3) "
                "ON CONFLICT (tenant_id, kind, part) DO UPDATE SET source = EXCLUDED.source",
                uuid.UUID(clinic.id),
                part,
                LEGACY,
            )
    finally:
        await connection.close()
    auth = {"Authorization": f"Bearer {clinic.key}"}
    listed, list_ms = await timed(lambda: http.get("/api/v1/message-templates", headers=auth))
    problems = sum(1 for t in listed.json() if t.get("problem")) if listed.status_code == 200 else "-"
    answer = f"{listed.status_code} in {list_ms:.1f} ms ({problems} not used)"
    print(f"  saved before the rules: GET /message-templates {answer}")
    day = datetime.now(ZoneInfo("America/New_York")).date() + timedelta(days=14)
    while day.weekday() > 4:
        day += timedelta(days=1)
    booked = []
    for slot in range(6):
        starts = datetime(day.year, day.month, day.day, 10, tzinfo=ZoneInfo("America/New_York"))
        body = {
            "service_id": clinic.service_id,
            "starts_at": (starts + timedelta(minutes=30 * slot)).isoformat(),
            "customer": {"name": f"Pat Number{slot}", "phone": f"+1212555{slot:04d}"},
        }
        response, took = await timed(lambda body=body: http.post("/api/v1/bookings", json=body, headers=auth))
        booked.append((response.status_code, took))
    statuses = sorted({status for status, _ in booked})
    times = [took for _, took in booked]
    print(
        f"  saved before the rules: 6 bookings whose confirmation uses it: answers {statuses}, "
        f"p50 {percentile(times, 50):.1f} ms, max {max(times):.1f} ms"
    )


async def combinations(http: httpx.AsyncClient, other: httpx.AsyncClient, clinic: Clinic) -> None:
    csrf = clinic.csrf
    saves, meanwhile, statuses = [], [], {}

    async def health() -> float:
        await asyncio.sleep(0.005)
        began = time.perf_counter()
        await other.get("/health")
        return (time.perf_counter() - began) * 1000

    for source in templates():
        began = time.perf_counter()
        response, waited = await asyncio.gather(
            http.put(
                "/api/v1/message-templates/reminder/sms",
                json={"source": source},
                headers={"X-CSRF-Token": csrf},
            ),
            health(),
        )
        saves.append((time.perf_counter() - began) * 1000)
        meanwhile.append(waited)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    answers = dict(sorted(statuses.items()))
    print(f"  {len(saves)} combinations of expressions, loops and broken tails: answers {answers}")
    print(health_line("their saves", saves))
    print(health_line("/health sent with each", meanwhile))


async def measure(base: str, database_url: str) -> None:
    async with (
        httpx.AsyncClient(base_url=base, timeout=120) as http,
        httpx.AsyncClient(base_url=base, timeout=120) as other,
    ):
        clinic = await owner_session(http)
        await http.get("/health")
        alone = await health_alone(other)
        async with health_meanwhile(other) as during_catalogue:
            await catalogue(http, clinic)
        async with health_meanwhile(other) as during_legacy:
            await legacy_templates(http, clinic, database_url)
        await combinations(http, other, clinic)
        print("  /health, p50/p95/p99 in the same run:")
        print(health_line("alone (baseline)", alone))
        print(health_line("during the bypass catalogue", during_catalogue))
        print(health_line("during the pre-rules templates", during_legacy))


def main() -> None:
    print("Hostile message templates (save = PUT /api/v1/message-templates/reminder/sms):")
    with tempfile.TemporaryDirectory() as scratch:
        _, database_url, redis_url = prepare_services(ROOT / "var" / "bench")
        server, base = start_server(database_url, redis_url, Path(scratch))
        try:
            asyncio.run(measure(base, database_url))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
