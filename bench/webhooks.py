"""Inbound SMS webhooks: signed Twilio requests to `frontdesk serve` at increasing rates, answered by
a `frontdesk worker` through the outbox to a local Twilio API server (the official client).

For each rate it prints the webhook's acknowledgement time (p50/p99 ms) and the time from sending
the text until the reply reached the Twilio server (p50/p95 ms), next to a bare FastAPI endpoint
returning empty TwiML (no signature check, no database) hit the same way in the same run.
Every text comes from a different patient, so each opens a conversation and runs an agent turn.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    ADMIN_SECRET,
    ALL_DAY,
    free_port,
    percentile,
    process_cpu_seconds,
    start_http,
)
from bench.outbox import sms_deployment, stop  # noqa: E402
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN  # noqa: E402

PRACTICE = "+16465550123"
TEXTS = ("Hi", "What are your opening hours?", "I'd like a visit tomorrow afternoon")


def baseline_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.twiml_baseline:app", "--port", str(port)]
    return start_http([*command, "--log-level", "warning"], port)


def set_up_tenant(base: str) -> None:
    spec = {
        "name": "Bench Clinic",
        "slug": "bench-sms",
        "timezone": "America/New_York",
        "settings": {"min_lead_minutes": 0, "max_days_ahead": 400},
        "providers": [{"name": "Provider", "hours": ALL_DAY}],
        "services": [{"name": "Visit", "duration_minutes": 30}],
    }
    created = httpx.post(
        f"{base}/api/v1/tenants", json=spec, headers={"X-Admin-Secret": ADMIN_SECRET}, timeout=30
    )
    created.raise_for_status()
    auth = {"Authorization": f"Bearer {created.json()['api_key']['key']}"}
    httpx.post(f"{base}/api/v1/phone-numbers", headers=auth, json={"number": PRACTICE}).raise_for_status()


async def send_at_rate(
    base: str, public: str, rate: float, seconds: float, first_patient: int
) -> tuple[list[float], dict[str, float]]:
    """Open loop: one text every 1/rate s, whatever the answers take. Ack times, and send times by patient."""
    validator = RequestValidator(AUTH_TOKEN)
    acks: list[float] = []
    sent_at: dict[str, float] = {}
    count = int(rate * seconds)

    async def one(client: httpx.AsyncClient, index: int) -> None:
        patient = f"+1212{first_patient + index:07d}"
        params = {
            "MessageSid": f"SM{first_patient + index:032d}",
            "AccountSid": ACCOUNT_SID,
            "From": patient,
            "To": PRACTICE,
            "Body": TEXTS[index % len(TEXTS)],
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": validator.compute_signature(public + "/twilio/sms", params)}
        started = time.time()
        response = await client.post(base + "/twilio/sms", data=params, headers=headers)
        acks.append(time.time() - started)
        response.raise_for_status()
        sent_at[patient] = started

    # Idle connections are dropped well before the server's 5 s keep-alive timeout: reusing one as
    # the server closes it is a client-side race (a ReadError), not a server failure.
    limits = httpx.Limits(max_connections=200, keepalive_expiry=2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        tasks = []
        begin = time.monotonic()
        for index in range(count):
            await asyncio.sleep(max(0.0, begin + index / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(client, index)))
        await asyncio.gather(*tasks)
    return acks, sent_at


async def replies_for(twilio_url: str, sent_at: dict[str, float], deadline_seconds: float) -> list[float]:
    """Seconds from each text to the first reply to its patient at the Twilio server."""
    deadline = time.monotonic() + deadline_seconds
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            received = (await client.get(twilio_url + "/_received")).json()
            first: dict[str, float] = {}
            for message in received:
                if message["to"] in sent_at and message["to"] not in first:
                    first[message["to"]] = message["at"]
            if len(first) == len(sent_at) or time.monotonic() > deadline:
                return [first[p] - sent_at[p] for p in first]
            await asyncio.sleep(0.25)


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:8.1f}" if values else "     n/a"


def cpu_of(pids: Iterable[int]) -> float:
    """CPU seconds the processes have used (0 where /proc cannot say)."""
    return sum(process_cpu_seconds(pid) or 0.0 for pid in pids)


def main(rates: list[float], seconds: float, workers: int) -> None:
    baseline, baseline_url = baseline_server()
    try:
        with sms_deployment(workers=workers) as deployment:
            base, public, twilio_url = deployment.base, deployment.public, deployment.twilio_url
            set_up_tenant(base)
            print(
                f"Inbound SMS webhooks, {seconds:.0f} s per rate, 1 API process + {workers} worker(s), "
                f"{os.cpu_count()} cores"
            )
            print(
                f"  {'rate':>8}   {'ack p50':>8} {'ack p99':>8}   {'reply p50':>9} {'reply p95':>9}   "
                f"replies   {'bare p50':>8} {'bare p99':>8}"
            )
            patient = 0
            cpu = []
            for rate in rates:
                api_cpu, workers_cpu = cpu_of([deployment.api_pid]), cpu_of(deployment.worker_pids)
                acks, sent_at = asyncio.run(send_at_rate(base, public, rate, seconds, patient))
                patient += len(sent_at)
                delays = asyncio.run(replies_for(twilio_url, sent_at, deadline_seconds=120))
                api_cpu = (cpu_of([deployment.api_pid]) - api_cpu) * 1000 / len(sent_at)
                cpu.append(
                    (rate, api_cpu, (cpu_of(deployment.worker_pids) - workers_cpu) * 1000 / len(sent_at))
                )
                bare, _ = asyncio.run(send_at_rate(baseline_url, baseline_url, rate, seconds, patient))
                print(
                    f"  {rate:6.0f}/s   {ms(acks, 50)} {ms(acks, 99)}   {ms(delays, 50)}  {ms(delays, 95)}   "
                    f"{len(delays):4d}/{len(sent_at):<4d} {ms(bare, 50)} {ms(bare, 99)}   (ms)",
                    flush=True,
                )
            print(
                "  CPU per text: "
                + "   ".join(f"{r:.0f}/s API {a:.1f} ms, workers {w:.1f} ms" for r, a, w in cpu)
            )
    finally:
        stop([baseline])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 40, 70, 100])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="worker processes answering the texts")
    args = parser.parse_args()
    main(args.rates, args.seconds, args.workers)
