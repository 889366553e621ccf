"""Tenant templates render where they cannot hurt (issue 25): every construct that made one C-level
operation as expensive as its author liked is refused by name at save and at preview; a template
that burns CPU anyway is stopped in its own process while the server keeps answering; a message
in a tenant's wording is rendered after the booking commits, and falls back to the profile's
wording, with the reason, when the tenant's template fails."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest

from backend.messaging.template_processes import RenderLimits, TemplateProcesses
from tests.conftest import at, in_process_app, local_day
from tests.support.db import rows, scalar
from tests.support.hostile_templates import CATALOGUE, Hostile
from tests.support.messaging import dispatcher_for, new_phone, outbox_of, reword
from tests.support.workspace import invite_staff, new_clinic

BURNER = (
    "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)


@pytest.fixture(scope="module")
async def owner(client):
    return await new_clinic(client)


@pytest.fixture(scope="module")
async def staff(owner, client):
    return await invite_staff(owner, client)


def assert_refused(response: httpx.Response, hostile: Hostile) -> None:
    assert response.status_code == 422, (hostile.name, response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert hostile.refusal_names in error["message"], (hostile.name, error["message"])


@pytest.mark.parametrize("hostile", CATALOGUE, ids=[hostile.name for hostile in CATALOGUE])
async def test_each_bypass_is_refused_by_name_at_save_and_at_preview(owner, staff, hostile):
    saved = await owner.http.put(
        "/api/v1/message-templates/reminder/sms", json={"source": hostile.source}, headers=owner.headers()
    )
    assert_refused(saved, hostile)
    previewed = await staff.http.post(
        "/api/v1/message-templates/reminder/sms/preview",
        json={"source": hostile.source},
        headers=staff.headers(),
    )
    assert_refused(previewed, hostile)
    listed = (await owner.http.get("/api/v1/message-templates")).json()
    assert not any(t["customized"] for t in listed)


# The sandbox's own time budget lifted: only the process limits (CPU time, wall clock) can stop it.
BURNING = RenderLimits(processes=1, timeout_seconds=30, cpu_seconds=1, budget_seconds=600)


async def test_a_template_burning_cpu_is_killed_at_the_limit_while_the_server_answers(settings, make_tenant):
    tenant = await make_tenant()
    async with in_process_app(settings, TemplateProcesses(BURNING)) as api:
        finished: list[str] = []

        async def preview() -> httpx.Response:
            response = await api.post(
                "/api/v1/message-templates/reminder/sms/preview", json={"source": BURNER}, headers=tenant.auth
            )
            finished.append("preview")
            return response

        async def health() -> int:
            await asyncio.sleep(0.05)  # the burner has reached its process
            response = await api.get("/health")
            finished.append("health")
            return response.status_code

        burnt, answered = await asyncio.gather(preview(), health())
        assert answered == 200 and finished == ["health", "preview"]
        assert burnt.status_code == 422
        # The kernel's CPU limit (1 s) ends it, or, on a machine too busy to give it that much CPU,
        # the wall clock (30 s) does.
        assert re.search(
            r"stopped at the (CPU limit \(1 s\)|time limit \(30 s\))", burnt.json()["error"]["message"]
        )
        # The killed process was replaced: the next template renders.
        fine = await api.post(
            "/api/v1/message-templates/reminder/sms/preview",
            json={"source": "See you {{ when }}, {{ first_name }}"},
            headers=tenant.auth,
        )
        assert fine.status_code == 200 and fine.json()["preview"].startswith("See you Tue Dec 3")


async def confirm_in(client, tenant, wording: str) -> None:
    """The tenant's own wording for the confirmation text, saved through the API."""
    saved = await client.put(
        "/api/v1/message-templates/confirmation/sms", json={"source": wording}, headers=tenant.auth
    )
    assert saved.status_code == 200, saved.text


async def book(client, tenant, name: str, phone: str) -> dict:
    body = {
        "service_id": tenant.services["Check-up"],
        "starts_at": at(local_day(6), "11:00").isoformat(),
        "customer": {"name": name, "phone": phone},
    }
    response = await client.post("/api/v1/bookings", json=body, headers=tenant.auth)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_booking_gets_the_tenants_wording_once_the_worker_renders_it(
    db, client, tenant, settings, template_processes
):
    await confirm_in(
        client, tenant, "{{ practice }}: {{ first_name }}, your {{ service }} is booked for {{ when }}."
    )
    phone = new_phone()
    booked = await book(client, tenant, "Ann Lee", phone)
    [queued] = await outbox_of(db, tenant.id, channel="sms", recipient=phone)
    assert queued["status"] == "rendering" and booked["reference"] in queued["body"]
    assert queued["render_context"]["first_name"] == "Ann"
    async with dispatcher_for(db, settings) as dispatcher:
        await dispatcher.drain()  # a row waiting for its wording is not the dispatcher's
        [still] = await outbox_of(db, tenant.id, channel="sms", recipient=phone)
        assert still["status"] == "rendering"
        assert await reword(db, template_processes) >= 1
        [worded] = await outbox_of(db, tenant.id, channel="sms", recipient=phone)
        assert worded["status"] == "pending" and worded["render_context"] is None
        assert worded["body"].startswith("Test Clinic: Ann, your Check-up is booked for ")
        assert worded["template_fallback"] is None and worded["segments"] == 1
        await dispatcher.drain()
    [sent] = await outbox_of(db, tenant.id, channel="sms", recipient=phone)
    assert sent["status"] == "sent" and sent["body"] == worded["body"]


# Each renders with the sample patient (Maria), so it saves; with anyone else it fails.
FAILING_FOR_OTHERS = {
    '{% if first_name != "Maria" %}{{ first_name * 5000 }}{% else %}Hi {{ first_name }}{% endif %}': (
        "that would make text longer than 5000 characters"
    ),
    '{% if first_name == "Maria" %}Hi {{ first_name }}{% endif %}': "the template renders to nothing",
}


@pytest.mark.parametrize(("wording", "reason"), FAILING_FOR_OTHERS.items())
async def test_a_template_that_fails_on_a_patients_details_leaves_the_profile_wording_and_the_reason(
    db, client, tenant, template_processes, wording, reason
):
    await confirm_in(client, tenant, wording)
    phone = new_phone()
    booked = await book(client, tenant, "Yara Fallowfield", phone)
    assert (
        await scalar(db, "SELECT count(*) FROM appointments WHERE reference = :r", r=booked["reference"]) == 1
    )
    [queued] = await outbox_of(db, tenant.id, channel="sms", recipient=phone)
    profile_wording = queued["body"]
    await reword(db, template_processes)
    [row] = await outbox_of(db, tenant.id, channel="sms", recipient=phone)
    assert row["status"] == "pending" and row["body"] == profile_wording
    assert booked["reference"] in row["body"]
    assert row["template_fallback"] == reason
    [audited] = await rows(
        db,
        "SELECT details FROM audit_log WHERE tenant_id = :t AND action = 'message_template.fallback' "
        "AND entity_id = :id",
        t=tenant.id,
        id=str(row["id"]),
    )
    assert audited["details"]["template_fallback"] == row["template_fallback"]
    assert "Yara" not in str(audited) and "Fallowfield" not in str(audited)


async def test_the_template_list_answers_with_a_hostile_template_saved_before_the_rules(db, client, tenant):
    # Saved before these rules existed (straight into the table): the list still answers, shows the
    # wording that is really sent, and says why the tenant's is not used.
    await scalar(
        db,
        "INSERT INTO message_templates (tenant_id, kind, part, source) "
        "VALUES (:t, 'reminder', 'sms', :s) RETURNING 1",
        t=uuid.UUID(tenant.id),
        s="{{ (((9**64)**64)**64)**8 }}",
    )
    listed = await client.get("/api/v1/message-templates", headers=tenant.auth)
    assert listed.status_code == 200
    [reminder] = [t for t in listed.json() if t["kind"] == "reminder" and t["part"] == "sms"]
    assert reminder["customized"] and "power" in reminder["problem"]
    assert "Reply C to confirm" in reminder["preview"]
    others = [t for t in listed.json() if t["kind"] != "reminder"]
    assert all(t["problem"] is None for t in others)


def test_a_child_whose_exit_status_was_lost_is_judged_by_the_time_it_ran():
    """asyncio reports 255 when another waiter reaped the child (seen once in a full run): a child
    that ended on its own after its CPU allowance in wall time hit the CPU limit; sooner, it just ended."""
    processes = TemplateProcesses(RenderLimits(cpu_seconds=1, timeout_seconds=2))
    ended = ConnectionResetError("the template process ended")
    assert processes._stopped(255, ended, 1.3).reason == "stopped at the CPU limit (1 s)"
    assert processes._stopped(255, ended, 0.2).reason == "stopped: its process ended (exit status 255)"
    assert processes._stopped(255, TimeoutError(), 2.0).reason == "stopped at the time limit (2 s)"
