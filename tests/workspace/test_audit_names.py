"""The audit log names who acted as people know them, whatever kind of actor it was, and its details
read as lines; the stored actor stays the stable id the filter takes."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from backend.dashboard.audit_pages import readable_details
from backend.tenants import audit_actors
from backend.tenants import service as tenants
from tests.support.workspace import invite_staff, new_clinic


async def test_every_kind_of_actor_has_a_name_and_the_api_gives_it_beside_the_id(client, db):
    owner = await new_clinic(client)
    member = await invite_staff(owner, client)
    removed = await owner.http.get("/api/v1/team", headers=owner.headers())
    member_id = next(m["id"] for m in removed.json() if m["email"] == member.email)
    assert (await owner.http.delete(f"/api/v1/team/{member_id}", headers=owner.headers())).status_code in (
        200,
        204,
    )

    listed = await owner.http.get("/api/v1/audit-log", headers=owner.headers())
    assert listed.status_code == 200, listed.text
    names = {item["actor"]: item["actor_name"] for item in listed.json()["items"]}
    owner_actor = next(actor for actor, name in names.items() if name.startswith("Olive Owner"))
    assert owner_actor.startswith("staff:") and names[owner_actor] == f"Olive Owner ({owner.email})"

    async def name(session):
        tenant = await tenants.get_context(session, uuid.UUID(owner.tenant_id))
        return await audit_actors.actor_names(
            session,
            tenant,
            [
                f"staff:{member_id}",
                f"staff:{uuid.uuid4()}",
                f"key:{owner.api_key[:16]}",
                f"conversation:{uuid.uuid4()}",
                "patient:sms",
                "system:retention",
                "worker",
                "admin",
                "something-new",
            ],
        )

    named = await db.transaction(name)
    assert named[f"staff:{member_id}"] == f"Sam Staff ({member.email}) (removed)"
    assert [v for k, v in named.items() if k.startswith("staff:") and k != f"staff:{member_id}"] == [
        "A member of staff no longer on record"
    ]
    assert named[f"key:{owner.api_key[:16]}"].startswith("API key “")  # its name, not its prefix
    assert [named[a] for a in ("patient:sms", "system:retention", "worker", "admin", "something-new")] == [
        "Patient (by text)",
        "System (retention)",
        "System",
        "Platform administrator",
        "something-new",
    ]
    assert next(v for k, v in named.items() if k.startswith("conversation:")) == "Receptionist"


def test_details_read_as_lines_with_times_on_the_clinics_clock_and_nothing_empty():
    details = {
        "customer": {"name": "[redacted]", "email": None, "phone": "+*********00"},
        "starts_at": "2026-12-07T20:30:00+00:00",
        "far_date_confirmed": False,
        "args": {},
        "notes": "",
        "changed": ["hours", "closures"],
    }
    assert readable_details(details, ZoneInfo("America/New_York")) == [
        ("customer name", "[redacted]"),
        ("customer phone", "+*********00"),
        ("starts at", "Mon 07 Dec 2026 15:30"),
        ("far date confirmed", "no"),
        ("changed", "hours, closures"),
    ]
