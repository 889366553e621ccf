"""What an operator reads: JSON log lines with the request's correlation id and tenant, redacted;
Prometheus metrics by route template; liveness and readiness."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re

import httpx
from fastapi import FastAPI, Request, Response

from backend.app import create_app
from backend.core import logs
from tests.conftest import _free_port
from tests.fakes.serving import serving


def test_a_json_log_line_carries_the_request_context_and_no_contact_details():
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    logger = logging.getLogger("frontdesk.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logs.new_context(correlation_id="req-42")
        logs.bind(tenant_id="0b7e")
        logger.warning("texted %s at %s", "+16175550100", "jane.doe@example.com")
    finally:
        logger.removeHandler(handler)
        logs.new_context()
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["correlation_id"] == "req-42" and line["tenant_id"] == "0b7e"
    assert line["level"] == "warning" and line["logger"] == "frontdesk.test.json" and "timestamp" in line
    assert "6175550100" not in line["event"] and "jane.doe" not in line["event"]


async def test_metrics_count_requests_by_route_template_and_show_the_outbox(client, tenant):
    booking = await client.get("/api/v1/bookings/ABCDEF", headers=tenant.auth)
    assert booking.status_code == 404
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    # The template, never the raw path with its id.
    assert re.search(
        r"frontdesk_http_request_duration_seconds_count"
        r'\{method="GET",route="/api/v1/bookings/\{ident\}",status="404"\} [1-9]',
        text,
    )
    assert "ABCDEF" not in text
    assert 'frontdesk_outbox_messages{status="pending"}' in text
    assert "frontdesk_outbox_oldest_age_seconds" in text


async def test_liveness_and_readiness(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "redis": "ok", "migrations": "ok"}


async def test_traces_go_to_the_configured_otlp_collector(settings):
    received: list[bytes] = []
    collector = FastAPI()

    @collector.post("/v1/traces")
    async def traces(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=200)

    port = _free_port()
    async with serving(collector, port):
        app = create_app(
            settings.model_copy(update={"otel_exporter_otlp_endpoint": f"http://127.0.0.1:{port}"})
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://frontdesk.test"
        ) as c:
            assert (await c.get("/api/v1/services")).status_code == 401
        app.state.tracer_provider.force_flush()
        await asyncio.to_thread(app.state.tracer_provider.shutdown)
        await app.state.webhook_sender.close()
        await app.state.db.dispose()
        await app.state.redis.aclose()
    spans = b"".join(received)
    # The request's span, named by its route template, reached the collector (OTLP protobuf).
    assert b"GET /api/v1/services" in spans and b"frontdesk" in spans
