"""Who is calling the API: a tenant's secret key, or a member of staff signed in to the workspace
(whose browser calls the same API with its session cookie and the CSRF token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from backend.core import logs
from backend.core.context import Caller, TenantContext
from backend.core.deps import CorrelationId, Db, Now, get_settings
from backend.core.errors import Forbidden, Unauthorized
from backend.core.rate_limits import RateLimits
from backend.core.settings import Settings
from backend.tenants import api_keys, sessions
from backend.tenants.sessions import SignedIn

_bearer = HTTPBearer(auto_error=False, description="A tenant secret key: `Authorization: Bearer sk_live_…`")
_cookie = APIKeyCookie(
    name=sessions.COOKIE,
    auto_error=False,
    description="A workspace session (the browser's); unsafe methods also need the `X-CSRF-Token` header",
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    code = "CSRF_FAILED"


def staff_caller(signed: SignedIn, correlation_id: str) -> Caller:
    user = signed.user
    return Caller(
        tenant=TenantContext.of(signed.tenant),
        actor=f"staff:{user.id}",
        correlation_id=correlation_id,
        role="owner" if user.role == "owner" else "staff",
        staff_id=user.id,
        staff_name=user.name,
    )


class TwoFactorRequired(Forbidden):
    code = "TWO_FACTOR_REQUIRED"


async def tenant_caller(
    request: Request,
    db: Db,
    now: Now,
    correlation: CorrelationId,
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    return await _caller(request, db, now, correlation, settings, credentials, cookie, enrolling=False)


async def enrolling_caller(
    request: Request,
    db: Db,
    now: Now,
    correlation: CorrelationId,
    settings: Annotated[Settings, Depends(get_settings)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Caller:
    """A member of staff signed in to the workspace, even one who must still set up two-factor
    sign-in: a second factor belongs to a person, never to a key."""
    if not cookie:
        raise Forbidden("two-factor sign-in belongs to a person: sign in to the workspace")
    return await _caller(request, db, now, correlation, settings, None, cookie, enrolling=True)


async def _caller(
    request: Request,
    db: Db,
    now: datetime,
    correlation: str,
    settings: Settings,
    credentials: HTTPAuthorizationCredentials | None,
    cookie: str | None,
    *,
    enrolling: bool,
) -> Caller:
    if credentials is not None:
        found = await db.transaction(
            lambda session: api_keys.authenticate(session, credentials.credentials, now)
        )
        if found is None:
            raise Unauthorized("invalid or revoked API key")
        key, tenant = found
        if key.kind != "secret":
            raise Forbidden("publishable keys only work with the chat widget; use a secret key for the API")
        caller = Caller(
            tenant=TenantContext.of(tenant), actor=f"key:{key.prefix}", correlation_id=correlation
        )
        await _within_quota(request, settings, caller, f"key:{key.id}")
        return caller
    if cookie:
        signed = await db.transaction(lambda session: sessions.signed_in(session, settings, cookie, now))
        if signed is None:
            raise Unauthorized("your workspace session has ended; sign in again")
        if signed.must_enrol and not enrolling:
            raise TwoFactorRequired(
                "this clinic requires two-factor sign-in: set it up at /app/account/two-factor first"
            )
        if request.method not in SAFE_METHODS and not sessions.csrf_ok(
            cookie, request.headers.get(sessions.CSRF_HEADER)
        ):
            raise CsrfFailed(f"missing or wrong {sessions.CSRF_HEADER} header for this session")
        caller = staff_caller(signed, correlation)
        await _within_quota(request, settings, caller, f"session:{signed.session.id}")
        return caller
    raise Unauthorized("missing API key: send 'Authorization: Bearer sk_live_…'")


async def _within_quota(request: Request, settings: Settings, caller: Caller, credential: str) -> None:
    """Per key (or session), then the clinic's own quota over all of them."""
    logs.bind(tenant_id=str(caller.tenant.id))
    if not settings.rate_limits_enabled:
        return
    limits: RateLimits = request.app.state.rate_limits
    await limits.take(settings.rate_limit_api_per_key, "api", credential)
    await limits.take(
        f"{caller.tenant.settings.api_requests_per_minute}/minute", "tenant", str(caller.tenant.id)
    )


async def owner_caller(caller: Annotated[Caller, Depends(tenant_caller)]) -> Caller:
    if not caller.is_owner:
        raise Forbidden("only an owner of the clinic can do this")
    return caller


TenantCaller = Annotated[Caller, Depends(tenant_caller)]
EnrollingCaller = Annotated[Caller, Depends(enrolling_caller)]
OwnerCaller = Annotated[Caller, Depends(owner_caller)]
