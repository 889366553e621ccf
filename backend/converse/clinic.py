"""A clinic as `frontdesk converse` reaches it: over its public HTTP API, never its database.

A secret key sets a script up (bookings made first), reads the patient's bookings afterwards and
tidies up; a publishable key opens the chat, as the widget does. Given only a publishable key, the
replies are checked and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from backend.converse.script import BookingSpec, day_of

# How far ahead the patient's bookings are read: past any day a script names.
BOOKING_WINDOW_DAYS = 120
# Booked by a script and still standing: tidied away after it on a shared clinic.
STANDING = frozenset({"booked", "confirmed"})


class ClinicProblem(Exception):
    """The clinic's API refused something the run needs (a wrong key, a missing service)."""


def origin_of(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass
class Clinic:
    """One tenant: its API (with the secret key, when there is one), its widget key and timezone."""

    http: httpx.AsyncClient
    widget_key: str
    origin: str
    timezone: str
    slug: str = ""
    secret: str | None = None
    services: dict[str, str] = field(default_factory=dict)
    # A publishable key this run made for itself (revoked when it closes).
    own_widget_key_id: str | None = None
    number: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        if self.secret is None:
            raise ClinicProblem("this needs the clinic's secret key (--key sk_live_…)")
        return {"Authorization": f"Bearer {self.secret}"}

    async def call(self, method: str, path: str, expect: int, **options: Any) -> Any:
        headers = {**self.auth, **options.pop("headers", {})}
        response = await self.http.request(method, path, headers=headers, **options)
        if response.status_code != expect:
            raise ClinicProblem(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    async def book(self, booking: BookingSpec, day: date, customer: Mapping[str, str]) -> dict[str, Any]:
        if booking.service not in self.services:
            raise ClinicProblem(f"the clinic has no service called {booking.service!r}")
        hour, minute = map(int, booking.time.split(":"))
        starts = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(self.timezone))
        body = {"service_id": self.services[booking.service], "starts_at": starts.isoformat()}
        return await self.call(
            "POST",
            "/api/v1/bookings",
            201,
            json={**body, "customer": dict(customer), "notes": "made by frontdesk converse"},
            headers={"Idempotency-Key": f"converse-{uuid.uuid4()}"},
        )

    async def bookings(self, today: date) -> list[dict[str, Any]]:
        """Every booking from today on, all pages."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "from": today.isoformat(),
            "to": (today + timedelta(days=BOOKING_WINDOW_DAYS)).isoformat(),
            "limit": 200,
        }
        while True:
            page = await self.call("GET", "/api/v1/bookings", 200, params=params)
            found += page["items"]
            if not page.get("next_cursor"):
                return found
            params["cursor"] = page["next_cursor"]

    async def cancel(self, booking_id: str) -> None:
        await self.call(
            "POST",
            f"/api/v1/bookings/{booking_id}/cancel",
            200,
            json={"reason": "frontdesk converse: tidying up after a script"},
            headers={"Idempotency-Key": f"converse-{uuid.uuid4()}"},
        )

    async def close(self) -> None:
        if self.own_widget_key_id is not None:
            await self.call("DELETE", f"/api/v1/api-keys/{self.own_widget_key_id}", 200)
            self.own_widget_key_id = None


async def open_clinic(
    http: httpx.AsyncClient, key: str, *, origin: str, slug: str | None = None, timezone: str = "UTC"
) -> Clinic:
    """The clinic `key` belongs to. A secret key makes a publishable key for the run's chats; a
    publishable key is used as it is, from `origin` (one of its allowed origins), and the clinic's
    `timezone` cannot be read, so it is given."""
    if key.startswith("pk_"):
        return Clinic(http, key, origin, timezone=timezone, slug=slug or "")
    clinic = Clinic(http, widget_key="", origin=origin, timezone="", secret=key)
    tenant = await clinic.call("GET", "/api/v1/tenant", 200)
    if slug and tenant["slug"] != slug:
        raise ClinicProblem(f"the key belongs to the clinic {tenant['slug']!r}, not {slug!r}")
    clinic.slug, clinic.timezone = tenant["slug"], tenant["timezone"]
    services = await clinic.call("GET", "/api/v1/services", 200, params={"include_inactive": "true"})
    clinic.services = {s["name"]: s["id"] for s in services}
    made = await clinic.call(
        "POST",
        "/api/v1/api-keys",
        201,
        json={"kind": "publishable", "name": "frontdesk converse", "allowed_origins": [origin]},
    )
    clinic.widget_key, clinic.own_widget_key_id = made["key"], made["id"]
    numbers = await clinic.call("GET", "/api/v1/phone-numbers", 200)
    clinic.number = numbers[0]["number"] if numbers else None
    return clinic


def clinic_body(spec: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The admin API's body for a script's `clinic`: a fresh slug, and closures named by a day spec
    made whole days in the clinic's timezone."""
    zone = ZoneInfo(spec["timezone"])
    closures = []
    for closure in spec.get("closures", []):
        if "day" in closure:
            start = datetime.combine(day_of(closure["day"], today, {}), time(0), tzinfo=zone)
            end = start + timedelta(days=1)
            reason = closure.get("reason", "")
            closures.append({"starts_at": start.isoformat(), "ends_at": end.isoformat(), "reason": reason})
        else:
            closures.append(closure)
    return {**spec, "slug": f"converse-{uuid.uuid4().hex[:12]}", "closures": closures}


async def new_clinic(
    http: httpx.AsyncClient, admin_secret: str, spec: Mapping[str, Any], *, origin: str
) -> Clinic:
    """A fresh tenant made from `spec` through the admin API, opened with its first secret key."""
    today = datetime.now(ZoneInfo(spec["timezone"])).date()
    created = await http.post(
        "/api/v1/tenants", json=clinic_body(spec, today), headers={"X-Admin-Secret": admin_secret}
    )
    if created.status_code != 201:
        raise ClinicProblem(f"making the clinic answered {created.status_code}: {created.text[:300]}")
    return await open_clinic(http, created.json()["api_key"]["key"], origin=origin)
