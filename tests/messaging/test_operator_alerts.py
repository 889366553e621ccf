"""Operators are told when messages stall: the clinic's owners by e-mail and an event (once per
episode, and again when it clears), Prometheus through /metrics and the alert rules shipped in
deploy/prometheus (checked and unit-tested with Debian's promtool)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

from backend.messaging import outbox_alerts, outbox_health
from tests.conftest import ROOT
from tests.support.db import rows, scalar
from tests.support.messaging import dispatcher_for, new_phone, outbox_of, queue

RULES = ROOT / "deploy" / "prometheus"


def _promtool(*args: str) -> str:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install Debian's `prometheus` package (.ci/run does)"
    done = subprocess.run([promtool, *args], cwd=RULES, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_alert_rules_are_valid_and_fire_as_their_unit_tests_say():
    assert "SUCCESS: 11 rules found" in _promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in _promtool("test", "rules", "alerts.test.yml")


async def test_every_metric_the_alert_rules_watch_is_served(client):
    watched = set(re.findall(r"\bfrontdesk_[a-z_]+", (RULES / "alerts.yml").read_text()))
    served = (await client.get("/metrics")).text
    declared = set(re.findall(r"^# TYPE (\S+)", served, re.MULTILINE))
    # A histogram is declared once and served as _count, _sum and _bucket series.
    declared |= {f"{name}_count" for name in declared}
    assert watched and watched - declared == set()


async def test_metrics_show_the_messages_waiting_and_the_workers_alive(client, db, tenant):
    now = datetime.now(UTC)
    await db.transaction(lambda session: outbox_health.beat(session, "test-worker:1", now, now))
    for _ in range(3):
        await queue(db, tenant.id, now - timedelta(minutes=30), new_phone(), kind="confirmation", urgent=True)
    served = (await client.get("/metrics")).text
    assert int(float(re.search(r"\nfrontdesk_outbox_due_messages (\S+)", served).group(1))) >= 3
    assert float(re.search(r"\nfrontdesk_outbox_due_oldest_seconds (\S+)", served).group(1)) >= 30 * 60
    assert int(float(re.search(r"\nfrontdesk_workers_alive (\S+)", served).group(1))) >= 1
    assert float(re.search(r"\nfrontdesk_worker_heartbeat_age_seconds (\S+)", served).group(1)) < 60


async def test_a_clinic_whose_messages_wait_too_long_is_told_once_and_told_when_it_is_over(
    db, make_tenant, settings
):
    tenant = await make_tenant(settings={"min_lead_minutes": 0, "alert_email": "ops@clinic.example"})
    config = settings.model_copy(update={"outbox_alert_waiting": 3, "outbox_alert_after_seconds": 600})
    # Long ago, so that no other test's messages are due at these times: only this clinic's count.
    queued = datetime(2001, 3, 5, 15, 0, tzinfo=UTC)
    for _ in range(2):
        await queue(db, tenant.id, queued, new_phone(), kind="confirmation", urgent=True)

    async def check(minutes: float) -> None:
        await outbox_alerts.check(db, config, queued + timedelta(minutes=minutes))

    async def alerts() -> list[dict]:
        return await rows(
            db,
            "SELECT type, data FROM domain_events WHERE tenant_id = :t AND type LIKE 'outbox.%' ORDER BY id",
            t=tenant.id,
        )

    await check(1)
    assert await alerts() == []  # two waiting for a minute: under both thresholds
    await queue(db, tenant.id, queued, new_phone(), kind="confirmation", urgent=True)
    await check(2)
    await check(3)  # still waiting: no second e-mail
    [delayed] = await alerts()
    assert delayed["type"] == "outbox.delayed" and delayed["data"]["waiting"] == 3
    assert delayed["data"]["oldest_waiting_seconds"] == 120
    [mail] = await outbox_of(db, tenant.id, kind="outbox_delayed")
    assert mail["recipient"] == "ops@clinic.example" and mail["urgent"] and mail["channel"] == "email"
    assert "3 of your clinic's messages" in mail["body"] and "about 2 min" in mail["body"]

    async with dispatcher_for(db, config) as dispatcher:  # the log provider: everything goes
        await dispatcher.drain(queued + timedelta(minutes=4))
    await check(5)
    assert [alert["type"] for alert in await alerts()] == ["outbox.delayed", "outbox.recovered"]
    open_alerts = "SELECT count(*) FROM operator_alerts WHERE tenant_id = :t AND cleared_at IS NULL"
    assert await scalar(db, open_alerts, t=tenant.id) == 0

    # A new episode is a new alert: the oldest has waited past the age threshold.
    await queue(db, tenant.id, queued + timedelta(minutes=6), new_phone(), kind="confirmation", urgent=True)
    await check(6 + 11)
    assert [alert["type"] for alert in await alerts()] == [
        "outbox.delayed",
        "outbox.recovered",
        "outbox.delayed",
    ]
    assert len(await outbox_of(db, tenant.id, kind="outbox_delayed")) == 2
