"""Hostile message templates against a `frontdesk serve` process: how long saving each takes, and
how long a `/health` request sent meanwhile waits (it must not queue behind the template).

Every combination of an expensive expression, 0-3 nested loops and a broken tail is PUT as the
reminder text; the baseline is `/health` alone in the same run.

Usage: python bench/hostile_templates.py
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ADMIN_SECRET, percentile, prepare_services, start_server  # noqa: E402
from bench.workspace_views import HOURS, PASSWORD  # noqa: E402

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


async def owner_session(http: httpx.AsyncClient) -> str:
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
    return re.search(r'csrf: "([0-9a-f]+)"', (await http.get("/app/schedule")).text).group(1)


async def measure(base: str) -> None:
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as http,
        httpx.AsyncClient(base_url=base) as other,
    ):
        csrf = await owner_session(http)
        alone = []
        for _ in range(100):
            began = time.perf_counter()
            await other.get("/health")
            alone.append((time.perf_counter() - began) * 1000)
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
        print(f"  {len(saves)} hostile templates: answers {dict(sorted(statuses.items()))}")
        rows = (("save", saves), ("/health meanwhile", meanwhile), ("baseline: /health alone", alone))
        for label, took in rows:
            p50, p99 = percentile(took, 50), percentile(took, 99)
            print(f"  {label:<24} p50 {p50:6.1f}  p99 {p99:6.1f}  max {max(took):6.1f} ms")


def main() -> None:
    print("Hostile message templates (save = PUT /api/v1/message-templates/reminder/sms):")
    with tempfile.TemporaryDirectory() as scratch:
        _, database_url, redis_url = prepare_services(ROOT / "var" / "bench")
        server, base = start_server(database_url, redis_url, Path(scratch))
        try:
            asyncio.run(measure(base))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
