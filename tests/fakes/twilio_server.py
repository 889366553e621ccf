"""A local HTTP server speaking the Twilio Messages API, so the official `twilio` client runs as in
production: Basic auth, the form body, the 201 message resource, Twilio's error JSON, and the
Messages list (`GET …/Messages.json` filtered by `To`, `From`, `DateSent`, `DateSent<`, `DateSent>`,
newest first, in pages of `PageSize` with a `next_page_uri`).

A slow provider is two delays: `delay` before Twilio takes a message (a client that gives up or
dies meanwhile sent nothing) and `answer_delay` after it took it and before it answers (a client
that dies then never learns that the message went).

`python -m tests.fakes.twilio_server PORT [--delay S] [--answer-delay S] [--host H]` runs one on its own (the
benchmarks do); `GET /_received` lists what it took, with the outbox id each message's status
callback names.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.fakes.serving import free_port, serving

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+15005550006"
MAX_PAGE_SIZE = 1000

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
    # The account whose URL it was sent through (/Accounts/{sid}/Messages.json).
    account_sid: str = ACCOUNT_SID

    @property
    def outbox_id(self) -> str | None:
        """The outbox row the status callback URL names."""
        if not self.status_callback:
            return None
        return parse_qs(urlparse(self.status_callback).query).get("outbox", [None])[0]


@dataclass
class FakeTwilio:
    base_url: str
    messages: list[SentSms] = field(default_factory=list)
    # Recipient -> Twilio error code, answered for every message to that number.
    failing_numbers: dict[str, int] = field(default_factory=dict)
    # While > 0, every request fails with this error code and the count goes down (an outage).
    outage_requests: int = 0
    outage_code: int = 20503
    # Seconds a message waits before Twilio takes it, and then before Twilio answers.
    delay: float = 0.0
    answer_delay: float = 0.0
    requests: int = 0
    # The Messages list requests (their query parameters), in order.
    lookups: list[dict[str, str]] = field(default_factory=list)
    # Account SID -> auth token: the platform's, and any clinic's own (sub)account a test opens.
    accounts: dict[str, str] = field(default_factory=lambda: {ACCOUNT_SID: AUTH_TOKEN})

    def authorised(self, account_sid: str, authorization: str | None) -> bool:
        token = self.accounts.get(account_sid)
        expected = base64.b64encode(f"{account_sid}:{token}".encode()).decode()
        return token is not None and authorization == f"Basic {expected}"

    def to(self, number: str) -> list[SentSms]:
        return [m for m in self.messages if m.to == number]

    def per_outbox_id(self) -> Counter[str | None]:
        """How many messages Twilio took for each outbox row: 2 or more is a text sent twice."""
        return Counter(m.outbox_id for m in self.messages)


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


def _unauthenticated() -> JSONResponse:
    return JSONResponse(
        {"code": 20003, "message": "Authenticate", "more_info": "", "status": 401}, status_code=401
    )


async def _wait(seconds: float, request: Request) -> bool:
    """Wait `seconds`; False as soon as the client has gone."""
    waited = 0.0
    while waited < seconds:
        await asyncio.sleep(0.05)
        waited += 0.05
        if await request.is_disconnected():
            return False
    return True


def create_app(fake: FakeTwilio) -> FastAPI:
    app = FastAPI()
    path = "/2010-04-01/Accounts/{account_sid}/Messages.json"

    @app.post(path)
    async def create_message(account_sid: str, request: Request) -> JSONResponse:
        fake.requests += 1
        if not fake.authorised(account_sid, request.headers.get("Authorization")):
            return _unauthenticated()
        form = await request.form()
        if not await _wait(fake.delay, request):
            return JSONResponse({}, status_code=499)  # the client died waiting: nothing was sent
        if fake.outage_requests > 0:
            fake.outage_requests -= 1
            return _error(fake.outage_code)
        to = str(form.get("To", ""))
        if to in fake.failing_numbers:
            return _error(fake.failing_numbers[to], to)
        sms = SentSms(
            "SM" + uuid.uuid4().hex,
            to,
            str(form.get("From")),
            str(form.get("Body")),
            form.get("StatusCallback"),  # type: ignore[arg-type]
            time.time(),
            account_sid,
        )
        fake.messages.append(sms)
        await _wait(fake.answer_delay, request)  # taken: whether the client hears of it or not
        return JSONResponse(_resource(sms, account_sid), status_code=201)

    @app.get(path)
    async def list_messages(account_sid: str, request: Request) -> JSONResponse:
        if not fake.authorised(account_sid, request.headers.get("Authorization")):
            return _unauthenticated()
        query = dict(request.query_params)
        fake.lookups.append(query)
        mine = (m for m in reversed(fake.messages) if m.account_sid == account_sid)  # newest first
        found = [m for m in mine if _matches(m, query)]
        size = min(int(query.get("PageSize", 50)), MAX_PAGE_SIZE)
        page = int(query.get("Page", 0))
        start = int(query.get("PageToken", "PA0")[2:]) if "PageToken" in query else page * size
        rows = found[start : start + size]
        uri = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        filters = {key: value for key, value in query.items() if key not in ("Page", "PageToken", "PageSize")}

        def page_uri(number: int, offset: int) -> str:
            paging = {"PageSize": size, "Page": number, "PageToken": f"PA{offset}"}
            return f"{uri}?{urlencode({**filters, **paging})}"

        more = start + size < len(found)
        return JSONResponse(
            {
                "messages": [_resource(m, account_sid) for m in rows],
                "page": page,
                "page_size": size,
                "start": start,
                "end": start + max(len(rows) - 1, 0),
                "uri": f"{uri}?{request.url.query}",
                "first_page_uri": page_uri(0, 0),
                "next_page_uri": page_uri(page + 1, start + size) if more else None,
                "previous_page_uri": page_uri(page - 1, max(start - size, 0)) if page > 0 else None,
            }
        )

    @app.get("/_received")
    async def received() -> list[dict[str, Any]]:
        """What arrived, for a benchmark running this server in another process."""
        return [
            {"to": m.to, "from": m.from_, "body": m.body, "at": m.at, "outbox_id": m.outbox_id}
            for m in fake.messages
        ]

    return app


def _matches(message: SentSms, query: dict[str, str]) -> bool:
    sent = datetime.fromtimestamp(message.at, UTC)
    checks = {
        "To": lambda value: message.to == value,
        "From": lambda value: message.from_ == value,
        "DateSent": lambda value: _bounds(value)[0] <= sent < _bounds(value)[1],
        "DateSent>": lambda value: sent >= _bounds(value)[0],
        "DateSent<": lambda value: sent < _bounds(value)[1],
    }
    return all(check(query[key]) for key, check in checks.items() if key in query)


def _bounds(value: str) -> tuple[datetime, datetime]:
    """A day (YYYY-MM-DD, GMT) as [midnight, next midnight); a moment as itself."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, start + timedelta(days=1)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment, moment


def _resource(sms: SentSms, account_sid: str) -> dict[str, Any]:
    created = format_datetime(datetime.fromtimestamp(sms.at, UTC), usegmt=True)
    return {
        "sid": sms.sid,
        "account_sid": account_sid,
        "to": sms.to,
        "from": sms.from_,
        "body": sms.body,
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": None,
        "error_code": None,
        "error_message": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sms.sid}.json",
        "date_created": created,
        "date_updated": created,
        "date_sent": created,
    }


@asynccontextmanager
async def running_fake_twilio() -> AsyncIterator[FakeTwilio]:
    port = free_port()
    fake = FakeTwilio(base_url=f"http://127.0.0.1:{port}")
    async with serving(create_app(fake), port):
        yield fake


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--answer-delay", type=float, default=0.0)
    # 0.0.0.0 lets containers reach it (deploy/container/verify-container.sh).
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    fake = FakeTwilio(f"http://127.0.0.1:{args.port}", delay=args.delay, answer_delay=args.answer_delay)
    uvicorn.run(create_app(fake), host=args.host, port=args.port, log_level="warning")
