"""A local HTTP server speaking the Twilio Messages API, so the official `twilio` client runs as in
production: Basic auth, the form body, the 201 message resource, and Twilio's error JSON.

`python -m tests.fakes.twilio_server PORT` runs one on its own (the outbox benchmark does).
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.serving import free_port, serving

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+15005550006"

# Twilio's own error codes and texts for the cases tests provoke.
ERRORS: dict[int, tuple[int, str]] = {
    # Twilio names the number in this one, as it does in production.
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service unavailable"),
}


@dataclass
class SentSms:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    at: float


@dataclass
class FakeTwilio:
    base_url: str
    messages: list[SentSms] = field(default_factory=list)
    # Recipient -> Twilio error code, answered for every message to that number.
    failing_numbers: dict[str, int] = field(default_factory=dict)
    # While > 0, every request fails with this error code and the count goes down (an outage).
    outage_requests: int = 0
    outage_code: int = 20503
    # Seconds every request waits before answering (a slow provider).
    delay: float = 0.0
    requests: int = 0

    def to(self, number: str) -> list[SentSms]:
        return [m for m in self.messages if m.to == number]


def _error(code: int, to: str = "") -> JSONResponse:
    status, message = ERRORS[code]
    message = message.format(to=to)
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def create_app(fake: FakeTwilio) -> FastAPI:
    app = FastAPI()
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()

    @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
    async def create_message(account_sid: str, request: Request) -> JSONResponse:
        fake.requests += 1
        if request.headers.get("Authorization") != expected_auth or account_sid != ACCOUNT_SID:
            return JSONResponse(
                {"code": 20003, "message": "Authenticate", "more_info": "", "status": 401}, status_code=401
            )
        form = await request.form()
        waited = 0.0
        while waited < fake.delay:
            await asyncio.sleep(0.05)
            waited += 0.05
            if await request.is_disconnected():
                return JSONResponse({}, status_code=499)  # the client died waiting: nothing was sent
        if fake.outage_requests > 0:
            fake.outage_requests -= 1
            return _error(fake.outage_code)
        to = str(form.get("To", ""))
        if to in fake.failing_numbers:
            return _error(fake.failing_numbers[to], to)
        sid = "SM" + uuid.uuid4().hex
        fake.messages.append(
            SentSms(
                sid, to, str(form.get("From")), str(form.get("Body")), form.get("StatusCallback"), time.time()
            )  # type: ignore[arg-type]
        )
        return JSONResponse(_resource(sid, account_sid, form), status_code=201)

    @app.get("/_received")
    async def received() -> list[dict[str, Any]]:
        """What arrived, for a benchmark running this server in another process."""
        return [{"to": m.to, "from": m.from_, "body": m.body, "at": m.at} for m in fake.messages]

    return app


def _resource(sid: str, account_sid: str, form: Any) -> dict[str, Any]:
    return {
        "sid": sid,
        "account_sid": account_sid,
        "to": form.get("To"),
        "from": form.get("From"),
        "body": form.get("Body"),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": None,
        "error_code": None,
        "error_message": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        "date_created": None,
        "date_updated": None,
        "date_sent": None,
    }


@asynccontextmanager
async def running_fake_twilio() -> AsyncIterator[FakeTwilio]:
    port = free_port()
    fake = FakeTwilio(base_url=f"http://127.0.0.1:{port}")
    async with serving(create_app(fake), port):
        yield fake


if __name__ == "__main__":
    port = int(sys.argv[1])
    uvicorn.run(
        create_app(FakeTwilio(f"http://127.0.0.1:{port}")), host="127.0.0.1", port=port, log_level="warning"
    )
