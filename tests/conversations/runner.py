"""Scripted patients: each script is a conversation typed by a patient who never taps a chip, run
through the real HTTP chat API (or signed SMS webhooks) on a fresh clinic, then checked against the
bookings the API shows afterwards (service, local day, local time, status).

Days are written relative to today ("+9", "next:thu", "nextmonth:3", "nextweek:tue", "d+7"), and
texts name them the way people do ("the {d:ord}", "{d:weekday}", "{d:month} {d:day}"), so a script
means the same thing whichever day it runs.
"""

from __future__ import annotations

import calendar
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

TIMEZONE = "America/New_York"
ZONE = ZoneInfo(TIMEZONE)
ORIGIN = "https://clinic.example"
PATIENT = {"name": "Jane Doe", "phone": "+16175550100"}
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = [
    {"weekday": d, "opens_at": opens, "closes_at": closes}
    for d in _WEEKDAYS
    for opens, closes in (("09:00", "12:00"), ("13:00", "17:00"))
]
# A dental clinic open every day (any date a script names is a working day), lunch 12-13.
CLINIC = {
    "name": "Scripted Dental",
    "timezone": TIMEZONE,
    "profile": "healthcare",
    "settings": {"min_lead_minutes": 0, "max_days_ahead": 400, "far_date_confirm_days": 60},
    "providers": [
        {"name": "Dr. Maya Chen", "kind": "person", "hours": _HOURS},
        {"name": "Sam Rivera, RDH", "kind": "person", "hours": _HOURS},
    ],
    "services": [
        {
            "name": "Check-up",
            "description": "Exam with the dentist",
            "aliases": ["checkup", "exam", "examination"],
            "duration_minutes": 30,
            "providers": ["Dr. Maya Chen"],
        },
        {
            "name": "Dental cleaning",
            "description": "Cleaning and polish with the hygienist",
            "aliases": ["cleaning", "hygiene", "scale and polish"],
            "duration_minutes": 45,
            "providers": ["Sam Rivera, RDH"],
        },
        {
            "name": "Filling",
            "description": "Tooth filling",
            "aliases": ["cavity"],
            "duration_minutes": 60,
            "providers": ["Dr. Maya Chen"],
        },
        {"name": "Consultation", "description": "A talk about treatment options", "duration_minutes": 30},
    ],
}


@dataclass(frozen=True)
class Booking:
    service: str
    day: str  # a day variable of the script, or a day spec
    time: str  # local "HH:MM"
    status: str = "booked"
    provider: str | None = None


@dataclass(frozen=True)
class Script:
    name: str
    say: tuple[str, ...]
    expect: Booking | None
    covers: tuple[int, ...] = ()  # which points of the understanding issue it exercises
    days: Mapping[str, str] = field(default_factory=dict)
    existing: Booking | None = None  # the patient's own booking before the conversation
    taken: tuple[Booking, ...] = ()  # other patients' bookings: times that are not free
    channel: str = "web"  # "web": the HTTP chat API; "sms": signed Twilio webhooks (the phone is known)


@dataclass
class Outcome:
    script: Script
    channel: str
    passed: bool
    problems: list[str]
    transcript: list[tuple[str, str]]

    @property
    def stuck(self) -> bool:
        return any("repeated" in p for p in self.problems)


class Patient(Protocol):
    async def say(self, text: str) -> str: ...


Opener = Callable[["Clinic"], Awaitable[Patient]]


def resolve_days(specs: Mapping[str, str], today: date) -> dict[str, date]:
    days: dict[str, date] = {}
    for name, spec in specs.items():
        days[name] = _day(spec, today, days)
    return days


def _day(spec: str, today: date, known: Mapping[str, date]) -> date:
    if spec.startswith("+"):
        return today + timedelta(days=int(spec[1:]))
    kind, _, value = spec.partition(":")
    if kind == "next":
        ahead = (_WEEKDAYS.index(value) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if kind == "nextweek":
        return today - timedelta(days=today.weekday()) + timedelta(days=7 + _WEEKDAYS.index(value))
    if kind == "nextmonth":
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return date(year, month, min(int(value), calendar.monthrange(year, month)[1]))
    match = re.fullmatch(r"(\w+)([+-]\d+)", spec)
    if match and match[1] in known:
        return known[match[1]] + timedelta(days=int(match[2]))
    raise ValueError(f"unknown day spec {spec!r}")


def render(text: str, days: Mapping[str, date], extra: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, _, form = match.group(1).partition(":")
        if name in extra:
            return extra[name]
        day = days[name]
        suffix = "th" if 11 <= day.day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
        forms = {
            "ord": f"{day.day}{suffix}",
            "day": str(day.day),
            "weekday": f"{day:%A}",
            "month": f"{day:%B}",
            "mon": f"{day:%b}",
            "md": f"{day.month}/{day.day}",
            "iso": day.isoformat(),
        }
        return forms[form or "iso"]

    return re.sub(r"\{([a-z]+(?::[a-z]+)?)\}", one, text)


@dataclass
class Clinic:
    """A fresh tenant made through the admin API, and the API calls a script needs."""

    api: httpx.AsyncClient
    auth: dict[str, str]
    services: dict[str, str]
    widget_key: str
    number: str | None = None

    async def book(self, booking: Booking, day: date, customer: Mapping[str, str]) -> dict:
        hour, minute = map(int, booking.time.split(":"))
        starts = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)
        response = await self.api.post(
            "/api/v1/bookings",
            headers=self.auth,
            json={
                "service_id": self.services[booking.service],
                "starts_at": starts.isoformat(),
                "customer": customer,
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


async def new_clinic(api: httpx.AsyncClient, admin_secret: str, *, with_number: bool = False) -> Clinic:
    spec = {**CLINIC, "slug": f"scripted-{uuid.uuid4().hex[:12]}"}
    created = await api.post("/api/v1/tenants", json=spec, headers={"X-Admin-Secret": admin_secret})
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
    return Clinic(api, auth, {s["name"]: s["id"] for s in data["services"]}, key.json()["key"], number)


class WebPatient:
    """The widget's HTTP fallback, as a browser without WebSocket would use it."""

    def __init__(self, api: httpx.AsyncClient, widget_key: str) -> None:
        self.api = api
        self.headers = {"X-Widget-Key": widget_key, "Origin": ORIGIN}
        self.token: str | None = None

    async def say(self, text: str) -> str:
        if self.token is None:
            opened = await self.api.post("/api/v1/chat/sessions", headers=self.headers, json={})
            assert opened.status_code == 200, opened.text
            self.token = opened.json()["token"]
        sent = await self.api.post(
            "/api/v1/chat/messages", headers=self.headers, json={"token": self.token, "text": text}
        )
        assert sent.status_code == 200, sent.text
        return "\n".join(m["text"] for m in sent.json()["messages"] if m["role"] == "assistant")


async def run(script: Script, clinic: Clinic, patient: Patient, channel: str) -> Outcome:
    today = datetime.now(ZONE).date()
    days = resolve_days(script.days, today)
    extra = {"phone": "617-555-0100"}
    for index, other in enumerate(script.taken):
        await clinic.book(
            other,
            _booking_day(other, days, today),
            {"name": f"Other {index}", "email": f"o{index}@example.com"},
        )
    existing_reference = None
    if script.existing is not None:
        made = await clinic.book(script.existing, _booking_day(script.existing, days, today), PATIENT)
        existing_reference = made["reference"]
        extra["ref"] = existing_reference
    transcript: list[tuple[str, str]] = []
    problems: list[str] = []
    for text in script.say:
        said = render(text, days, extra)
        reply = await patient.say(said)
        if transcript and reply == transcript[-1][1]:
            problems.append(f"the same reply repeated after {said!r}")
        transcript.append((said, reply))
    ours = [b for b in await clinic.bookings(today) if b["customer"]["name"] == PATIENT["name"]]
    problems += _check(script, ours, days, today, existing_reference)
    return Outcome(script, channel, not problems, problems, transcript)


def _booking_day(booking: Booking, days: Mapping[str, date], today: date) -> date:
    return days[booking.day] if booking.day in days else _day(booking.day, today, days)


def _check(
    script: Script, ours: list[dict], days: Mapping[str, date], today: date, reference: str | None
) -> list[str]:
    expect = script.expect
    if expect is None:
        return [f"expected no booking, found {len(ours)}"] if ours and script.existing is None else []
    if len(ours) != 1:
        return [f"expected one booking of the patient, found {len(ours)}"]
    [found] = ours
    local = datetime.fromisoformat(found["starts_at"]).astimezone(ZONE)
    wanted_day = _booking_day(expect, days, today)
    problems = []
    if found["service_name"] != expect.service:
        problems.append(f"service {found['service_name']!r}, expected {expect.service!r}")
    if local.date() != wanted_day or local.strftime("%H:%M") != expect.time:
        problems.append(f"at {local:%a %Y-%m-%d %H:%M}, expected {wanted_day:%a %Y-%m-%d} {expect.time}")
    if found["status"] != expect.status:
        problems.append(f"status {found['status']!r}, expected {expect.status!r}")
    if expect.provider is not None and found["provider_name"] != expect.provider:
        problems.append(f"provider {found['provider_name']!r}, expected {expect.provider!r}")
    if reference is not None and found["reference"] != reference:
        problems.append("the existing booking was not the one changed")
    return problems
