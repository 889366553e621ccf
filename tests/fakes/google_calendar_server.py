"""A local server speaking Google's OAuth 2.0 endpoints and Calendar API v3 at the wire, so
Google's own client library (`googleapiclient`, `google-auth`) runs against it as against Google.

OAuth: the consent page answers at once with a code (PKCE S256 checked at the token endpoint),
refresh tokens mint access tokens, revocation kills both. Calendar: calendarList, events with
`singleEvents` paging and `syncToken` (410 once a token is expired), insert/update/delete by id,
`events.watch` and `channels.stop`. `fail_next` makes the next Calendar API calls answer 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from tests.fakes.serving import free_port, serving

CLIENT_ID = "frontdesk-test.apps.googleusercontent.com"
CLIENT_SECRET = "fake-google-client-secret"
ACCOUNT = "dr.adams@example.com"


@dataclass
class FakeGoogle:
    base_url: str
    calendars: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # calendar -> id -> event
    # Per calendar: the change counter at which each event last changed.
    versions: dict[str, dict[str, int]] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    expired_tokens: set[str] = field(default_factory=set)
    codes: dict[str, str] = field(default_factory=dict)  # code -> PKCE challenge
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    refreshes: int = 0
    fail_next: list[int] = field(default_factory=list)
    watches: list[dict[str, Any]] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    list_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def put(self, calendar_id: str, event: dict[str, Any]) -> None:
        """Add or change an event as the provider would in Google Calendar."""
        self.calendars.setdefault(calendar_id, {})[event["id"]] = {"status": "confirmed", **event}
        self.versions.setdefault(calendar_id, {})[event["id"]] = next(self.counter)

    def remove(self, calendar_id: str, event_id: str) -> None:
        self.calendars[calendar_id][event_id]["status"] = "cancelled"
        self.versions[calendar_id][event_id] = next(self.counter)

    def live(self, calendar_id: str) -> dict[str, dict[str, Any]]:
        return {k: e for k, e in self.calendars.get(calendar_id, {}).items() if e["status"] != "cancelled"}

    def grant(self) -> str:
        """A refresh token as if the provider had connected already."""
        token = secrets.token_urlsafe(16)
        self.refresh_tokens.add(token)
        return token


def build_app(fake: FakeGoogle) -> FastAPI:
    app = FastAPI()

    @app.get("/auth")
    async def consent(request: Request) -> Response:
        query = request.query_params
        assert query["client_id"] == CLIENT_ID and query["code_challenge_method"] == "S256"
        assert query["access_type"] == "offline"
        code = secrets.token_urlsafe(12)
        fake.codes[code] = query["code_challenge"]
        return RedirectResponse(
            f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        )

    @app.post("/token")
    async def token(request: Request) -> Response:
        form = await request.form()
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "authorization_code":
            challenge = fake.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if challenge is None or computed != challenge:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "bad code"}, status_code=400
                )
            refresh = fake.grant()
            return _tokens(fake, refresh_token=refresh)
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in fake.refresh_tokens:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "Token has been revoked."}, 400
                )
            fake.refreshes += 1
            return _tokens(fake)
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    @app.post("/revoke")
    async def revoke(request: Request) -> Response:
        token = str((await request.form()).get("token"))
        fake.revoked.append(token)
        fake.refresh_tokens.discard(token)
        return Response(status_code=200)

    @app.middleware("http")
    async def calendar_api_checks(request: Request, call_next: Any) -> Response:
        if not request.url.path.startswith("/calendar/v3/"):
            return await call_next(request)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in fake.access_tokens:
            return _error(401, "Invalid Credentials")
        if fake.fail_next:
            return _error(fake.fail_next.pop(0), "Backend Error")
        return await call_next(request)

    @app.get("/calendar/v3/users/me/calendarList")
    async def calendar_list() -> dict[str, Any]:
        items = [
            {
                "id": cid,
                "summary": "Dr. Adams" if cid == ACCOUNT else cid.split("@")[0],
                "primary": cid == ACCOUNT,
            }
            for cid in fake.calendars
        ]
        return {"kind": "calendar#calendarList", "items": items}

    @app.get("/calendar/v3/calendars/{calendar_id}/events")
    async def list_events(calendar_id: str, request: Request) -> Response:
        query = dict(request.query_params)
        fake.list_requests.append(query)
        assert query.get("singleEvents") == "true"
        since = 0
        if "syncToken" in query:
            if query["syncToken"] in fake.expired_tokens:
                return _error(410, "Sync token is no longer valid, a full sync is required.")
            since = int(query["syncToken"].removeprefix("s"))
        versions = fake.versions.get(calendar_id, {})
        changed = sorted((v, k) for k, v in versions.items() if v > since)
        if since == 0:
            changed = [(v, k) for v, k in changed if fake.calendars[calendar_id][k]["status"] != "cancelled"]
        offset = int(query.get("pageToken", "0"))
        size = int(query.get("maxResults", "250"))
        page = changed[offset : offset + size]
        body: dict[str, Any] = {"items": [fake.calendars[calendar_id][k] for _, k in page]}
        if offset + size < len(changed):
            body["nextPageToken"] = str(offset + size)
        else:
            body["nextSyncToken"] = f"s{max(versions.values(), default=0)}"
        return JSONResponse(body)

    @app.post("/calendar/v3/calendars/{calendar_id}/events")
    async def insert_event(calendar_id: str, request: Request) -> Response:
        event = await request.json()
        if event["id"] in fake.calendars.get(calendar_id, {}):
            return _error(409, "The requested identifier already exists.")
        fake.put(calendar_id, event)
        return JSONResponse(fake.calendars[calendar_id][event["id"]])

    @app.put("/calendar/v3/calendars/{calendar_id}/events/{event_id}")
    async def update_event(calendar_id: str, event_id: str, request: Request) -> Response:
        if event_id not in fake.live(calendar_id):
            return _error(404, "Not Found")
        fake.put(calendar_id, {**await request.json(), "id": event_id})
        return JSONResponse(fake.calendars[calendar_id][event_id])

    @app.delete("/calendar/v3/calendars/{calendar_id}/events/{event_id}")
    async def delete_event(calendar_id: str, event_id: str) -> Response:
        if event_id not in fake.live(calendar_id):
            return _error(410, "Resource has been deleted")
        fake.remove(calendar_id, event_id)
        return Response(status_code=204)

    @app.post("/calendar/v3/calendars/{calendar_id}/events/watch")
    async def watch(calendar_id: str, request: Request) -> dict[str, Any]:
        channel = await request.json()
        fake.watches.append({**channel, "calendar_id": calendar_id})
        return {
            "kind": "api#channel",
            "id": channel["id"],
            "resourceId": f"res-{calendar_id}",
            "expiration": "4102444800000",
        }

    @app.post("/calendar/v3/channels/stop")
    async def stop(request: Request) -> Response:
        fake.stopped.append((await request.json())["id"])
        return Response(status_code=204)

    return app


def _tokens(fake: FakeGoogle, refresh_token: str | None = None) -> JSONResponse:
    access = secrets.token_urlsafe(16)
    fake.access_tokens.add(access)
    body: dict[str, Any] = {
        "access_token": access,
        "expires_in": 3599,
        "token_type": "Bearer",
        "scope": "https://www.googleapis.com/auth/calendar.readonly https://www.googleapis.com/auth/calendar.events",
    }
    if refresh_token:
        body["refresh_token"] = refresh_token
    return JSONResponse(body)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"message": message, "reason": "backendError"}],
            }
        },
        status_code=status,
    )


@asynccontextmanager
async def running() -> AsyncIterator[FakeGoogle]:
    port = free_port()
    fake = FakeGoogle(base_url=f"http://127.0.0.1:{port}")
    async with serving(build_app(fake), port):
        yield fake
