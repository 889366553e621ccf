"""Operators are told of the API's outages through /metrics and the alert rules shipped in
deploy/prometheus (checked and unit-tested with Debian's promtool): PostgreSQL answering 503s,
Redis unreachable, webhook endpoints paused, 500s."""

from __future__ import annotations

import re
import shutil
import subprocess

from tests.conftest import ROOT

RULES = ROOT / "deploy" / "prometheus"


def _promtool(*args: str) -> str:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install Debian's `prometheus` package (.ci/run does)"
    done = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_api_alert_rules_are_valid_and_fire_as_their_unit_tests_say():
    assert "SUCCESS" in _promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in _promtool("test", "rules", "alerts.test.yml")


async def test_every_metric_the_api_alert_rules_watch_is_served(client):
    watched = set(re.findall(r"\bfrontdesk_[a-z_]+", (RULES / "alerts.yml").read_text()))
    served = (await client.get("/metrics")).text
    declared = set(re.findall(r"^# TYPE (\S+)", served, re.MULTILINE))
    # A histogram is declared once and served as _count, _sum and _bucket series.
    declared |= {f"{name}_count" for name in declared}
    assert watched and watched - declared == set()
    assert re.search(r"^frontdesk_webhook_endpoints_paused \d", served, re.MULTILINE)
