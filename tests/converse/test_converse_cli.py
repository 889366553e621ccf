"""`frontdesk converse` run as a clinic runs it: the command in its own process, against a real
`frontdesk serve` (the demo clinic, fresh clinics, and a server whose worker answers texts)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_SECRET, ROOT
from tests.converse.servers import TextingServer
from tests.support.db import rows

HERE = Path(__file__).parent
CORPUS = ROOT / "tests" / "conversations" / "scripts"


def converse(settings, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ADMIN_SECRET": ADMIN_SECRET,
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", "converse", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def on_fresh_clinics(settings, server: TextingServer, path: Path, report: Path, parallel: int):
    """`path`'s scripts, each on a clinic of its own on `server`, side by side; texts signed."""
    return converse(
        settings,
        str(path),
        "--fresh-clinics",
        "--parallel",
        str(parallel),
        "--base-url",
        server.base_url,
        "--admin-secret",
        ADMIN_SECRET,
        "--twilio-auth-token",
        server.auth_token,
        "--json",
        str(report),
    )


def explain(run: subprocess.CompletedProcess) -> str:
    return f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"


async def test_the_demo_clinic_passes_its_own_scripts_and_is_left_as_it_was(
    settings, live_server, db, tmp_path
):
    report = tmp_path / "report.json"
    [started] = await rows(db, "SELECT now() AS at")
    run = converse(
        settings,
        str(HERE / "demo-clinic.yaml"),
        "--tenant",
        "demo-dental",
        "--base-url",
        live_server.base_url,
        "--json",
        str(report),
    )
    assert run.returncode == 0, explain(run)
    assert "4 scripts against demo-dental" in run.stdout
    assert "PASS  a check-up typed in one message, then name, phone and yes  [booking, web]" in run.stdout
    assert "4 scripts: 4 passed, 0 failed" in run.stdout
    results = json.loads(report.read_text())
    assert results["passed"] == results["total"] == 4
    assert results["classes"] == {
        "booking": {"passed": 2, "total": 2},
        "ending": {"passed": 1, "total": 1},
        "questions": {"passed": 1, "total": 1},
    }
    assert results["scripts"][0]["transcript"][0]["patient"] == "what are your opening hours?"
    # What the scripts booked is cancelled, and the keys the run made for itself are revoked.
    booked = await rows(
        db,
        "SELECT a.status FROM appointments a JOIN customers c ON c.id = a.customer_id "
        "WHERE c.phone = '+16175550142' AND a.created_at >= :t",
        t=started["at"],
    )
    assert len(booked) >= 2 and {b["status"] for b in booked} == {"cancelled"}
    # The keys this run made (other tests' runs, in any order, make their own).
    keys = await rows(
        db,
        "SELECT name, revoked_at FROM api_keys WHERE name LIKE 'frontdesk converse%' AND created_at >= :t",
        t=started["at"],
    )
    assert {k["name"] for k in keys} == {"frontdesk converse", "frontdesk converse (this run)"}
    assert all(k["revoked_at"] is not None for k in keys)


async def test_a_failing_script_fails_the_run_and_is_reported_with_its_transcript(
    settings, live_server, tmp_path
):
    scripts = tmp_path / "mixed.yaml"
    scripts.write_text(
        """
version: 1
scripts:
  - name: the hours are given
    say:
      - text: when are you open?
        expect: { has: ["Mon-Fri"] }
  - name: open on Sundays
    class: hopes
    days: { d: "next:sun" }
    say:
      - text: are you open on {d:weekday} the {d:ord}?
        expect: { has: ["open on Sundays"], lacks: ["closed"] }
    expect:
      bookings: [ { service: Check-up, day: d, time: "10:00" } ]
"""
    )
    run = converse(settings, str(scripts), "--key", live_server.demo_key, "--base-url", live_server.base_url)
    assert run.returncode == 1, explain(run)
    out = run.stdout
    assert "PASS  the hours are given  [(no class), web]" in out
    assert "FAIL  open on Sundays  [hopes, web]" in out
    assert "the reply lacks 'open on Sundays'" in out and "the reply says 'closed'" in out
    assert "- expected a booking Check-up on Sun" in out
    assert "        patient:      are you open on Sunday the " in out
    assert "        receptionist: " in out
    assert "2 scripts: 1 passed, 1 failed" in out
    assert "Failed:\n  open on Sundays  (" in out


async def test_a_publishable_key_checks_the_replies_only(settings, live_server, tmp_path):
    async with httpx.AsyncClient(base_url=live_server.base_url) as api:
        made = await api.post(
            "/api/v1/api-keys",
            headers={"Authorization": f"Bearer {live_server.demo_key}"},
            json={"kind": "publishable", "allowed_origins": ["https://clinic.example"]},
        )
    scripts = tmp_path / "replies.yaml"
    scripts.write_text(
        """
version: 1
scripts:
  - name: the hours
    say: [{ text: "opening hours?", expect: { has: ["Sat-Sun: closed"] } }]
  - name: the hours and no booking
    say: ["opening hours?"]
    expect: { bookings: [] }
"""
    )
    run = converse(
        settings,
        str(scripts),
        "--key",
        made.json()["key"],
        "--origin",
        "https://clinic.example",
        "--timezone",
        "America/New_York",
        "--base-url",
        live_server.base_url,
    )
    assert run.returncode == 1, explain(run)
    assert "PASS  the hours  " in run.stdout
    assert "the bookings were not checked: that needs the clinic's secret key" in run.stdout


async def test_a_run_that_cannot_start_says_why(settings, live_server, tmp_path):
    not_scripts = tmp_path / "notes.yaml"
    not_scripts.write_text("scripts:\n  - name: no lines\n")
    run = converse(settings, str(not_scripts), "--base-url", live_server.base_url)
    assert run.returncode == 2 and "notes.yaml" in run.stderr and "say" in run.stderr, explain(run)
    good = str(HERE / "demo-clinic.yaml")
    wrong_key = converse(settings, good, "--key", "sk_live_nonsense", "--base-url", live_server.base_url)
    assert wrong_key.returncode == 2 and "answered 401" in wrong_key.stderr, explain(wrong_key)
    wrong_clinic = converse(
        settings,
        good,
        "--key",
        live_server.demo_key,
        "--tenant",
        "another-clinic",
        "--base-url",
        live_server.base_url,
    )
    assert wrong_clinic.returncode == 2, explain(wrong_clinic)
    assert "belongs to the clinic 'demo-dental', not 'another-clinic'" in wrong_clinic.stderr
    unknown = converse(settings, good, "--tenant", "no-such-clinic", "--base-url", live_server.base_url)
    assert unknown.returncode == 2 and "no clinic with the slug 'no-such-clinic'" in unknown.stderr


async def test_scripts_on_fresh_clinics_side_by_side_on_the_web_and_by_text(
    settings, texting_server: TextingServer, tmp_path
):
    report = tmp_path / "report.json"
    run = on_fresh_clinics(settings, texting_server, HERE / "fresh-clinics.yaml", report, parallel=3)
    assert run.returncode == 0, explain(run)
    results = json.loads(report.read_text())
    assert {s["channel"] for s in results["scripts"]} == {"web", "sms"}
    texted = next(s for s in results["scripts"] if s["channel"] == "sms")
    # Numbered options to reply with, as a text has them (as many as fit the first text).
    assert re.search(r"\nReply 1, 2(, 3)?( or \d)?\.$", texted["transcript"][0]["receptionist"])
    made = await texting_server.scalar("SELECT count(*) FROM tenants WHERE slug LIKE 'converse-%'")
    assert made >= len(results["scripts"])


@pytest.mark.skipif(not list(CORPUS.glob("*.yaml")), reason="the project's corpus is not on this branch")
async def test_the_projects_corpus_through_the_command(settings, texting_server: TextingServer, tmp_path):
    """The corpus of tests/conversations/scripts, each script on a fresh clinic, web and SMS."""
    report = tmp_path / "corpus.json"
    run = on_fresh_clinics(settings, texting_server, CORPUS, report, parallel=4)
    results = json.loads(report.read_text())
    assert not [s for s in results["scripts"] if not s["passed"]], explain(run)
    assert results["total"] >= 60


async def test_the_demo_clinic_answers_from_its_faq(settings, live_server):
    run = converse(
        settings, str(HERE / "demo-faq.yaml"), "--tenant", "demo-dental", "--base-url", live_server.base_url
    )
    assert run.returncode == 0, explain(run)
