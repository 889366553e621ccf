"""What the API's fault tests (tests/faults/test_api_faults.py, test_webhook_circuits.py) need on
top of the fault suite's servers and processes (tests/faults/conftest.py): a `frontdesk serve`
process answering on its port, a clinic made through its admin API, bookings sent as a careful
client sends them (one Idempotency-Key, retried after every retryable answer), and signed texts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from tests.conftest import ADMIN_SECRET, at, iso, local_day, tenant_spec
from tests.fakes.serving import free_port
from tests.fakes.twilio_server import AUTH_TOKEN
from tests.faults.conftest import Process, Processes, until


@dataclass
class Api:
    process: Process
    url: str

    def client(self, timeout: float = 30, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=timeout, **options)

    def log(self) -> str:
        return self.process.log.read_text(errors="replace")


async def start_api(processes: Processes, **env: str) -> Api:
    """`frontdesk serve` on a free port (Twilio signs for that address), once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = processes.api(port, PUBLIC_BASE_URL=url, **env)

    async def answers() -> bool:
        assert process.alive, process.output()
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/health")).status_code == 200

    await until(answers, "the API answers")
    return Api(process, url)


@dataclass
class Clinic:
    id: str
    key: str
    services: dict[str, str]
    providers: dict[str, str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def booking(self, day: date, hh_mm: str, phone: str = "+16175550100") -> dict[str, Any]:
        return {
            "service_id": self.services["Check-up"],
            "starts_at": iso(at(day, hh_mm)),
            "customer": {"name": "Jane Doe", "phone": phone},
        }


async def new_clinic(api: Api, **overrides: Any) -> Clinic:
    async with api.client() as client:
        response = await client.post(
            "/api/v1/tenants", json=tenant_spec(**overrides), headers={"X-Admin-Secret": ADMIN_SECRET}
        )
    assert response.status_code == 201, response.text
    data = response.json()
    return Clinic(
        data["tenant"]["id"],
        data["api_key"]["key"],
        {s["name"]: s["id"] for s in data["services"]},
        {p["name"]: p["id"] for p in data["providers"]},
    )


def slots(count: int, first_day: int = 2) -> list[tuple[date, str]]:
    """`count` distinct bookable half hours of the clinic (tenant_spec's hours), day after day."""
    times = [f"{h:02d}:{m:02d}" for h in (9, 10, 11, 13, 14, 15, 16) for m in (0, 30)]
    return [(local_day(first_day + n // len(times)), times[n % len(times)]) for n in range(count)]


@dataclass
class CarefulClient:
    """Sends each booking with its own Idempotency-Key until a final answer, waiting what a
    retryable answer asks (`Retry-After`, else a moment); keeps every answer it got."""

    client: httpx.AsyncClient
    clinic: Clinic
    answers: list[httpx.Response] = field(default_factory=list)

    async def book(self, body: dict[str, Any], key: str, deadline: float) -> httpx.Response:
        while True:
            try:
                response = await self.client.post(
                    "/api/v1/bookings", json=body, headers={**self.clinic.auth, "Idempotency-Key": key}
                )
            except httpx.TransportError:
                response = None
            if response is not None:
                self.answers.append(response)
                if not (response.status_code >= 500 or _retryable(response)):
                    return response
            assert time.monotonic() < deadline, f"booking {key} never got a final answer"
            wait = response.headers.get("retry-after") if response is not None else None
            await asyncio.sleep(min(float(wait), 1.0) if wait else 0.2)


def _retryable(response: httpx.Response) -> bool:
    try:
        return bool(response.json()["error"]["retryable"])
    except (ValueError, KeyError, TypeError):
        return False


def signed_text(api: Api, patient: str, practice: str, body: str) -> tuple[dict[str, str], dict[str, str]]:
    """A Twilio message webhook to `api`: its form and the signature Twilio would send."""
    form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": patient, "To": practice, "Body": body}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{api.url}/twilio/sms", form)
    return form, {"X-Twilio-Signature": signature}
