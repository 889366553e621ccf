"""Google's OAuth 2.0 authorization-code flow for a provider's calendar: offline access (a refresh
token), incremental scopes, `state` against forged callbacks and PKCE (S256) against a stolen code.

The flow's secrets (the PKCE verifier, who asked for which provider) travel in a cookie sealed with
the key ring, bound to the `state` the callback must bring back; nothing is stored before Google
answers. The token exchange and revocation are plain form posts to Google's endpoints (RFC 6749,
RFC 7009); afterwards `google-auth` refreshes access tokens itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import aiohttp

from backend.calendars.google_account import READ_SCOPE, WRITE_SCOPE
from backend.core.crypto import KeyRing, KeyRingError
from backend.core.errors import ValidationFailed
from backend.core.settings import Settings

COOKIE = "fd_google_oauth"
COOKIE_CONTEXT = "google_oauth_flow"
FLOW_LIFETIME = timedelta(minutes=10)
CALLBACK_PATH = "/app/calendars/google/callback"
TIMEOUT = aiohttp.ClientTimeout(total=20)


@dataclass(frozen=True)
class Flow:
    state: str
    verifier: str
    tenant_id: uuid.UUID
    provider_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class Grant:
    refresh_token: str
    scopes: list[str]


def redirect_uri(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + CALLBACK_PATH


def begin(
    settings: Settings, ring: KeyRing, tenant_id: uuid.UUID, provider_id: uuid.UUID, now: datetime
) -> tuple[str, str]:
    """Google's consent page address and the sealed cookie that must come back with its answer."""
    flow = Flow(
        secrets.token_urlsafe(24), secrets.token_urlsafe(64), tenant_id, provider_id, now + FLOW_LIFETIME
    )
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(flow.verifier.encode()).digest()).rstrip(b"=").decode()
    )
    query = {
        "client_id": settings.google_client_id,
        "redirect_uri": redirect_uri(settings),
        "response_type": "code",
        "scope": f"{READ_SCOPE} {WRITE_SCOPE}",
        "access_type": "offline",
        "include_granted_scopes": "true",
        # Without it, an account that granted access before gets no new refresh token.
        "prompt": "consent",
        "state": flow.state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    sealed = ring.seal(
        json.dumps(
            {
                "state": flow.state,
                "verifier": flow.verifier,
                "tenant_id": str(tenant_id),
                "provider_id": str(provider_id),
                "expires_at": flow.expires_at.isoformat(),
            }
        ),
        COOKIE_CONTEXT,
    )
    return f"{settings.google_auth_url}?{urlencode(query)}", sealed


def returning(ring: KeyRing, cookie: str | None, state: str, tenant_id: uuid.UUID, now: datetime) -> Flow:
    """The flow this callback belongs to, or a validation error (forged, replayed, expired)."""
    if not cookie:
        raise ValidationFailed("state", "this sign-in with Google was not started here; start it again")
    try:
        data = json.loads(ring.open(cookie, COOKIE_CONTEXT))
    except (KeyRingError, ValueError):
        raise ValidationFailed(
            "state", "this sign-in with Google cannot be checked; start it again"
        ) from None
    flow = Flow(
        data["state"],
        data["verifier"],
        uuid.UUID(data["tenant_id"]),
        uuid.UUID(data["provider_id"]),
        datetime.fromisoformat(data["expires_at"]),
    )
    if not hmac.compare_digest(flow.state.encode(), state.encode()) or flow.tenant_id != tenant_id:
        raise ValidationFailed("state", "the answer from Google does not match this sign-in; start it again")
    if flow.expires_at < now:
        raise ValidationFailed("state", "the sign-in with Google took too long; start it again")
    return flow


async def exchange(settings: Settings, code: str, flow: Flow) -> Grant:
    assert settings.google_client_secret is not None
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(settings),
        "client_id": settings.google_client_id or "",
        "client_secret": settings.google_client_secret.get_secret_value(),
        "code_verifier": flow.verifier,
    }
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.post(settings.google_token_url, data=form) as answer,
        ):
            body = await answer.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as problem:
        raise ValidationFailed(
            "code", f"Google could not be reached to finish connecting ({problem})"
        ) from None
    if answer.status != 200 or "refresh_token" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {answer.status}"
        raise ValidationFailed("code", f"Google did not grant offline access: {reason}")
    return Grant(body["refresh_token"], str(body.get("scope", f"{READ_SCOPE} {WRITE_SCOPE}")).split())


async def revoke(settings: Settings, token: str) -> bool:
    """Tell Google we no longer hold this grant. Best effort: a disconnect goes ahead regardless."""
    try:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as http,
            http.post(settings.google_revoke_url, data={"token": token}) as answer,
        ):
            return answer.status in (200, 400)  # 400: already revoked or expired
    except (aiohttp.ClientError, TimeoutError):
        return False
