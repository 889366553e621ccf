"""What an operator reads: JSON log lines with the request's correlation id and tenant, redacted;
Prometheus metrics by route template; liveness and readiness."""

from __future__ import annotations

import io
import json
import logging
import re

from backend.core import logs


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
