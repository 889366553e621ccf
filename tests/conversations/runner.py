"""Scripted patients (docs/conversation-scripts.md): each script runs on a fresh clinic made through
the admin API, typed through the real HTTP chat API (or signed SMS webhooks), then checked reply by
reply and against the bookings the API shows afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from backend.converse.script import (
    BookingSpec,
    Checks,
    Patient,
    Script,
    ScriptFile,
    check_bookings,
    check_reply,
    day_of,
    load,
    render,
    resolve_days,
    spoken_phone,
)

ORIGIN = "https://clinic.example"
SCRIPTS_DIR = Path(__file__).parent / "scripts"


@dataclass(frozen=True)
class Heard:
    """One answer of the receptionist: its text, and the quick replies offered (None over SMS)."""

    text: str
    chips: tuple[str, ...] | None = None


class Talker(Protocol):
    async def say(self, text: str) -> Heard: ...


@dataclass(frozen=True)
class Case:
    """A script with the file it comes from (the file gives the clinic and the patient)."""

    script: Script
    patient: Patient
    clinic: Mapping[str, Any]

    @property
    def id(self) -> str:
        return self.script.name


def corpus() -> list[Case]:
    cases = []
    for path in sorted(SCRIPTS_DIR.glob("*.yaml")):
        if path.name.startswith("clinic-"):
            continue
        loaded: ScriptFile = load(path)
        for script in loaded.scripts:
            clinic = script.clinic or loaded.clinic
            assert clinic is not None, f"{path.name}: {script.name} has no clinic"
            cases.append(Case(script, loaded.patient, clinic))
    return cases


@dataclass
class Outcome:
    case: Case
    passed: bool
    problems: list[str]
    transcript: list[tuple[str, str]]

    @property
    def stuck(self) -> bool:
        return any("repeated" in p for p in self.problems)

    def explain(self) -> str:
        script = self.case.script
        lines = [f"{script.name} ({script.channel}, {script.kind}):", *self.problems]
        lines += [f"  patient: {said}\n  receptionist: {reply}" for said, reply in self.transcript]
        return "\n".join(lines)


@dataclass
class Clinic:
    """A fresh tenant made through the admin API, and the API calls a script needs."""

    api: httpx.AsyncClient
    auth: dict[str, str]
    services: dict[str, str]
    widget_key: str
    timezone: str
    number: str | None = None

    async def book(self, booking: BookingSpec, day: date, customer: Mapping[str, str]) -> dict:
        hour, minute = map(int, booking.time.split(":"))
        starts = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(self.timezone))
        response = await self.api.post(
            "/api/v1/bookings",
            headers=self.auth,
            json={
                "service_id": self.services[booking.service],
                "starts_at": starts.isoformat(),
                "customer": dict(customer),
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def bookings(self, today: date) -> list[dict]:
        response = await self.api.get(
            "/api/v1/bookings",
            headers=self.auth,
            params={"from": today.isoformat(), "to": (today + timedelta(days=120)).isoformat(), "limit": 200},
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]


def clinic_body(spec: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The admin API's body for `spec`: a fresh slug, and closures named by a day spec made whole
    days in the clinic's timezone."""
    zone = ZoneInfo(spec["timezone"])
    closures = []
    for closure in spec.get("closures", []):
        if "day" in closure:
            day = day_of(closure["day"], today, {})
            start = datetime.combine(day, time(0), tzinfo=zone)
            closures.append(
                {
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(days=1)).isoformat(),
                    "reason": closure.get("reason", ""),
                }
            )
        else:
            closures.append(closure)
    return {**spec, "slug": f"scripted-{uuid.uuid4().hex[:12]}", "closures": closures}


async def new_clinic(
    api: httpx.AsyncClient,
    admin_secret: str,
    spec: Mapping[str, Any],
    today: date,
    *,
    with_number: bool = False,
) -> Clinic:
    created = await api.post(
        "/api/v1/tenants", json=clinic_body(spec, today), headers={"X-Admin-Secret": admin_secret}
    )
    assert created.status_code == 201, created.text
    data = created.json()
    auth = {"Authorization": f"Bearer {data['api_key']['key']}"}
    key = await api.post(
        "/api/v1/api-keys", headers=auth, json={"kind": "publishable", "allowed_origins": [ORIGIN]}
    )
    assert key.status_code == 201, key.text
    number = None
    if with_number:
        number = f"+1646{2_000_000 + uuid.uuid4().int % 8_000_000}"  # an exchange may not start with 0 or 1
        added = await api.post("/api/v1/phone-numbers", headers=auth, json={"number": number})
        assert added.status_code == 201, added.text
    services = {s["name"]: s["id"] for s in data["services"]}
    return Clinic(api, auth, services, key.json()["key"], spec["timezone"], number)


class WebPatient:
    """The widget's HTTP fallback, as a browser without WebSocket would use it."""

    def __init__(self, api: httpx.AsyncClient, widget_key: str) -> None:
        self.api = api
        self.headers = {"X-Widget-Key": widget_key, "Origin": ORIGIN}
        self.token: str | None = None

    async def say(self, text: str) -> Heard:
        if self.token is None:
            opened = await self.api.post("/api/v1/chat/sessions", headers=self.headers, json={})
            assert opened.status_code == 200, opened.text
            self.token = opened.json()["token"]
        sent = await self.api.post(
            "/api/v1/chat/messages", headers=self.headers, json={"token": self.token, "text": text}
        )
        assert sent.status_code == 200, sent.text
        replies = [m for m in sent.json()["messages"] if m["role"] == "assistant"]
        chips = tuple(q["label"] for m in replies[-1:] for q in m["quick_replies"])
        return Heard("\n".join(m["text"] for m in replies), chips)


async def run(case: Case, clinic: Clinic, talker: Talker) -> Outcome:
    script, patient = case.script, case.patient
    today = datetime.now(ZoneInfo(clinic.timezone)).date()
    days = resolve_days(script.days, today)
    values = {"name": patient.name, "phone": spoken_phone(patient.phone)}
    for index, other in enumerate(script.before.taken):
        customer = {"name": f"Other {index}", "email": f"o{index}@example.com"}
        await clinic.book(other, day_of(other.day, today, days), customer)
    for index, own in enumerate(script.before.existing):
        made = await clinic.book(
            own, day_of(own.day, today, days), {"name": patient.name, "phone": patient.phone}
        )
        values["ref" if index == 0 else f"ref{index + 1}"] = made["reference"]
    problems: list[str] = []
    transcript: list[tuple[str, str]] = []
    for line in script.say:
        said = render(line.text, days, values)
        heard = await talker.say(said)
        if transcript and heard.text == transcript[-1][1]:
            problems.append(f"the same reply repeated after {said!r}")
        transcript.append((said, heard.text))
        for checks in (line.expect, script.replies):
            if checks is not None:
                problems += _after(said, _filled(checks, days, values), heard)
    if script.expect.bookings is not None:
        found = [b for b in await clinic.bookings(today) if _patients(b, patient)]
        problems += check_bookings(script.expect.bookings, found, days, today, clinic.timezone)
    return Outcome(case, not problems, problems, transcript)


def _filled(checks: Checks, days: Mapping[str, date], values: Mapping[str, str]) -> Checks:
    return Checks(
        **{field: [render(p, days, values) for p in getattr(checks, field)] for field in Checks.model_fields}
    )


def _after(said: str, checks: Checks, heard: Heard) -> list[str]:
    return [f"after {said!r}: {problem}" for problem in check_reply(checks, heard.text, heard.chips)]


def _patients(booking: Mapping[str, Any], patient: Patient) -> bool:
    customer = booking.get("customer") or {}
    return customer.get("name") == patient.name or customer.get("phone") == patient.phone
