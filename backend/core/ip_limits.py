"""Per-address limits on the endpoints anyone on the internet can reach, before any work is done:
the chat (REST and new Socket.IO connections), the hand-off and waiting-list offer pages, and the
Twilio webhooks (before their signature is checked). Over the limit is a 429 in the error
envelope with `Retry-After` and `RateLimit-*` headers; a new Socket.IO connection over it is
refused by Socket.IO itself, with the reason and the seconds to wait in its `connect_error`.

The address is the ASGI client's: behind a load balancer, run uvicorn with `--proxy-headers` and
`--forwarded-allow-ips` so that it is the visitor's, not the balancer's.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.core.errors import RateLimited
from backend.core.http_errors import error_response
from backend.core.rate_limits import RateLimits
from backend.core.settings import Settings
from channels.webchat import REFUSAL, ChatRefused

SOCKET_IO = "/socket.io/"


class IpRateLimitMiddleware:
    """`socket_io=False` around the FastAPI app; `socket_io=True` around the Socket.IO app, which is
    mounted outside FastAPI."""

    def __init__(
        self, app: ASGIApp, settings: Settings, limits: RateLimits, *, socket_io: bool = False
    ) -> None:
        self.app = app
        self.limits = limits
        every = (
            ("/api/v1/chat/", "chat", settings.rate_limit_chat_per_ip),
            (SOCKET_IO, "chat", settings.rate_limit_chat_per_ip),
            ("/h/", "pages", settings.rate_limit_pages_per_ip),
            ("/o/", "pages", settings.rate_limit_pages_per_ip),
            ("/twilio/", "twilio", settings.rate_limit_twilio_per_ip),
        )
        self.rules = tuple(rule for rule in every if (rule[0] == SOCKET_IO) == socket_io)
        self.socket_io = socket_io
        self.enabled = settings.rate_limits_enabled

    def _rule(self, scope: Scope) -> tuple[str, str] | None:
        path: str = scope["path"]
        for prefix, name, limit in self.rules:
            if path.startswith(prefix):
                # Socket.IO: count new connections, not every packet of an open one.
                if prefix == SOCKET_IO and b"sid=" in scope.get("query_string", b""):
                    return None
                if scope["type"] == "http" and scope.get("method") == "OPTIONS":
                    return None
                return name, limit
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._rule(scope) if self.enabled and scope["type"] in ("http", "websocket") else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        try:
            await self.limits.take(rule[1], "ip", rule[0], address)
        except RateLimited as refusal:
            if not self.socket_io:
                await error_response(refusal)(scope, receive, send)
                return
            # A refused WebSocket handshake would reach the browser as a bare 403, reason and
            # Retry-After lost: Socket.IO refuses the connection instead, saying both.
            scope.setdefault("state", {})[REFUSAL] = ChatRefused(
                refusal.message, code=refusal.code, retry_after=refusal.retry_after
            )
        await self.app(scope, receive, send)
