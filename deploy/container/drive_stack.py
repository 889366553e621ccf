"""Drives one booking and one text message through a running stack, as a clinic's integrator and a
patient's phone would: the booking over the API (its confirmation text leaves through the worker),
the text as Twilio posts it, signed, and the receptionist's answer read back from the Twilio the
stack sends through. Exits non-zero, saying what failed, unless both went through.

    python deploy/container/drive_stack.py --api http://127.0.0.1:18000 --key sk_... \
        --twilio http://127.0.0.1:18001 --auth-token TOKEN --number +15005550006
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

PATIENT_PHONE = "+16175550142"
TEXTER_PHONE = "+16175550187"


class StackProblem(Exception):
    """What did not work, in a sentence."""


def _checked(response: httpx.Response, expected: int) -> Any:
    if response.status_code != expected:
        raise StackProblem(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json() if response.content else None


def book_one(api: httpx.Client) -> dict[str, Any]:
    service = _checked(api.get("/api/v1/services"), 200)[0]
    first_day = date.today() + timedelta(days=1)
    slots = _checked(
        api.get(
            "/api/v1/availability",
            params={
                "service_id": service["id"],
                "from": first_day.isoformat(),
                "to": (first_day + timedelta(days=13)).isoformat(),
            },
        ),
        200,
    )["slots"]
    if not slots:
        raise StackProblem("no free time in the next two weeks")
    body = {
        "service_id": service["id"],
        "starts_at": slots[0]["starts_at"],
        "customer": {"name": "Container Check", "phone": PATIENT_PHONE, "sms_consent": True},
    }
    booked = _checked(
        api.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}), 201
    )
    again = _checked(api.get(f"/api/v1/bookings/{booked['id']}"), 200)
    if again["status"] != "booked":
        raise StackProblem(f"the booking reads back as {again['status']}")
    return booked


def text_one(base: str, auth_token: str, number: str) -> None:
    url = f"{base}/twilio/sms"
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": TEXTER_PHONE,
        "To": number,
        "Body": "Hi, what are your opening hours?",
    }
    signature = RequestValidator(auth_token).compute_signature(url, form)
    response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30)
    if response.status_code != 200:
        raise StackProblem(f"POST /twilio/sms: {response.status_code} {response.text}")


def wait_for_text(twilio: str, to: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent = [
            message for message in httpx.get(f"{twilio}/_received", timeout=10).json() if message["to"] == to
        ]
        if sent:
            return sent[0]
        time.sleep(1)
    raise StackProblem(f"no text to {to} reached Twilio within {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--twilio", required=True, help="the fake Twilio the stack sends through")
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--number", required=True, help="the clinic's Twilio number")
    args = parser.parse_args()
    api = httpx.Client(base_url=args.api, headers={"Authorization": f"Bearer {args.key}"}, timeout=30)
    try:
        existing = [row["number"] for row in _checked(api.get("/api/v1/phone-numbers"), 200)]
        if args.number not in existing:
            _checked(
                api.post(
                    "/api/v1/phone-numbers",
                    json={"number": args.number},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                ),
                201,
            )
        booked = book_one(api)
        print(f"booked {booked['reference']} at {booked['starts_at']} (201, reads back as booked)")
        confirmation = wait_for_text(args.twilio, PATIENT_PHONE, 60)
        print(f"confirmation text sent by the worker through Twilio: {confirmation['body']!r}")
        text_one(args.api, args.auth_token, args.number)
        answer = wait_for_text(args.twilio, TEXTER_PHONE, 60)
        print(f"a patient's text answered through Twilio: {answer['body']!r}")
    except StackProblem as problem:
        print(f"FAILED: {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
