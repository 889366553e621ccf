"""The ASGI application: routes, error envelope, correlation ids, and the shared resources."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend import (
    operations,
    tables,  # noqa: F401  (every table known before the first query)
)
from backend.calendars import endpoints as calendars
from backend.conversations import endpoints as conversations
from backend.conversations import handoff_endpoints as handoff
from backend.conversations.handoff import HandoffLinks
from backend.conversations.receptionist import build_turns
from backend.core import api_reference, http_errors, idempotency, logs, redis_clients, tracing
from backend.core.db import Database
from backend.core.deps import current_time
from backend.core.ip_limits import SOCKET_IO, IpRateLimitMiddleware
from backend.core.listener import PgListener
from backend.core.metrics import HttpMetricsMiddleware
from backend.core.openapi_errors import document_errors
from backend.core.rate_limits import RateLimits
from backend.core.settings import Settings
from backend.core.url_input import RefuseNulInUrl
from backend.customers import endpoints as customers
from backend.dashboard import site as dashboard
from backend.events import stream_endpoints as event_stream
from backend.events import webhook_endpoints as webhooks
from backend.events.documentation import document_webhooks
from backend.events.sender import WebhookSender
from backend.faq import endpoints as faq
from backend.messaging import endpoints as notifications
from backend.messaging import outbox_endpoints as outbox
from backend.messaging.template_processes import RenderLimits, TemplateProcesses
from backend.patients import endpoints as patients
from backend.reports import endpoints as reports
from backend.retention import endpoints as retention
from backend.scheduling import booking_endpoints as bookings
from backend.scheduling import catalog_change_endpoints as catalog_changes
from backend.scheduling import catalog_endpoints as catalog
from backend.scheduling import external_endpoints as external_appointments
from backend.scheduling import offer_endpoints as offers
from backend.scheduling import reminder_link_endpoints as reminder_link_pages
from backend.scheduling.reminder_links import ReminderLinks
from backend.telephony import endpoints as twilio
from backend.telephony import phone_number_endpoints as phone_numbers
from backend.telephony import twilio_account_endpoints as twilio_account
from backend.telephony.voice_calls import PhoneCalls
from backend.tenants import admin_endpoints as admin
from backend.tenants import audit_endpoints as audit_log
from backend.tenants import endpoints as tenant
from backend.tenants import sessions
from backend.tenants import team_endpoints as team
from backend.tenants import two_factor_endpoints as two_factor
from backend.webchat import endpoints as chat
from backend.webchat import staff_socket
from backend.webchat import widget_endpoints as widget
from backend.webchat.conversation_starts import ConversationStarts
from backend.webchat.live import SocketLive
from backend.webchat.presence import StaffPresence
from backend.webchat.service import WebChat
from channels import webchat
from channels.revocations import Revocations

log = logging.getLogger(__name__)

CORRELATION_HEADER = "x-correlation-id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")


class CorrelationIdMiddleware:
    """Take the caller's X-Correlation-Id (or make one), expose it to handlers, and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        correlation_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        logs.new_context(correlation_id=correlation_id)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append(
                    (CORRELATION_HEADER.encode(), correlation_id.encode())
                )
            await send(message)

        await self.app(scope, receive, send_with_header)


class ChatCorsMiddleware:
    """CORS for the chat fallback endpoints only: any page may call them, the widget key decides.

    No cookies are involved (credentials are off), so a wildcard here grants nothing by itself:
    each request still needs a publishable key whose allowed origins include the page's Origin.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "x-widget-key", "x-conversation-token", "idempotency-key"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(chat.router.prefix):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(settings: Settings, demo_widget_key: str | None = None) -> FastAPI:
    db = Database(settings)
    redis = redis_clients.client(settings)
    presence = StaffPresence(settings.redis_url)
    live = SocketLive(presence=presence)
    turns = build_turns(db, settings, live)
    links = HandoffLinks.from_settings(settings)
    webhook_sender = WebhookSender(settings)
    rate_limits = RateLimits(settings.redis_url, settings.redis_timeout_seconds)
    template_processes = TemplateProcesses(RenderLimits.of(settings))
    starts = ConversationStarts(settings, rate_limits, db, current_time)
    reminder_links = ReminderLinks.from_settings(settings)
    chat_service = WebChat(
        db, turns, clock=current_time, links=links, starts=starts, reminder_links=reminder_links
    )
    # Through Redis, a message stored by one API process reaches browsers connected to another.
    manager = redis_clients.RedisFanout(settings) if settings.redis_url else None
    # Turns given back and revocations committed by any process, heard by this one.
    listener = PgListener(settings.async_database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    turns.gate.hear(listener)
    revocations = Revocations()
    listener.subscribe(sessions.REVOKED_CHANNEL, revocations.revoked)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        purged = await db.transaction(lambda session: idempotency.purge_expired(session, datetime.now(UTC)))
        if purged:
            log.info("purged %d expired idempotency keys", purged)
        await listener.start()
        renewing = asyncio.create_task(presence.keep_renewing())
        yield
        renewing.cancel()
        await presence.close()
        await listener.close()
        await webhook_sender.close()
        await template_processes.close()
        await db.dispose()
        if app.state.tracer_provider is not None:
            app.state.tracer_provider.shutdown()  # flush the spans still batched
        if redis is not None:
            await redis.aclose()

    app = FastAPI(
        title="Frontdesk",
        version="0.1.0",
        description="AI receptionist server: booking, chat, SMS and voice for clinics and other practices.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.redis = redis
    app.state.rate_limits = rate_limits
    app.state.webchat = chat_service
    app.state.chat_server = webchat.create_server(
        chat_service, manager, max_pending=settings.chat_max_pending_messages, revocations=revocations
    )
    staff_socket.register(app.state.chat_server, db, settings, revocations, presence)
    live.attach(app.state.chat_server)
    app.state.live = live
    app.state.handoff_links = links
    app.state.reminder_links = reminder_links
    app.state.phone_calls = PhoneCalls(db, settings, turns, links, clock=current_time)
    app.state.demo_widget_key = demo_widget_key
    app.state.webhook_sender = webhook_sender
    app.state.template_processes = template_processes
    http_errors.install(app)
    # The last added runs first: correlation id, then the 500 envelope around everything after it.
    app.add_middleware(RefuseNulInUrl)
    app.add_middleware(IpRateLimitMiddleware, settings=settings, limits=app.state.rate_limits)
    app.add_middleware(ChatCorsMiddleware)
    app.add_middleware(http_errors.UnexpectedErrors)
    app.add_middleware(CorrelationIdMiddleware)
    if settings.metrics_enabled:
        app.add_middleware(HttpMetricsMiddleware)
    routers = (
        admin,
        tenant,
        team,
        two_factor,
        audit_log,
        retention,
        phone_numbers,
        twilio_account,
        catalog,
        catalog_changes,
        faq,
        bookings,
        external_appointments,
        calendars,
        patients,
        customers,
        conversations,
        notifications,
        outbox,
        chat,
        widget,
        offers,
        reminder_link_pages,
        handoff,
        twilio,
        event_stream,
        webhooks,
        operations,
        reports,
    )
    for router in (module.router for module in routers):
        app.include_router(router)
    dashboard.install(app)
    app.state.tracer_provider = tracing.install(app, db.engine, settings)
    document_webhooks(app)
    document_errors(app)
    api_reference.install(app)

    return app


class SocketIoFirst:
    """/socket.io/ to the chat server (behind its own per-address limit), the rest to FastAPI."""

    def __init__(self, chat: ASGIApp, app: FastAPI) -> None:
        self.chat, self.app = chat, app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(SOCKET_IO):
            await self.chat(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def asgi(app: FastAPI) -> ASGIApp:
    """The app as served: Socket.IO at /socket.io, everything else to FastAPI."""
    chat = IpRateLimitMiddleware(
        socketio.ASGIApp(app.state.chat_server), app.state.settings, app.state.rate_limits, socket_io=True
    )
    return SocketIoFirst(chat, app)
